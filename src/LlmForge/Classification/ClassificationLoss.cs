using LlmForge.Training;
namespace LlmForge.Classification;

/// <summary>The book's classification loss (chapter 6): cross-entropy of one logit vector per text against its class.</summary>
public static class ClassificationLoss
{
    /// <summary>Class logits <c>[BatchSize, classes]</c> in fp32 for <paramref name="batch"/>, on the model's device.</summary>
    public static Tensor Logits(ILanguageModel model, ClassificationBatch batch, ClassificationPooling pooling = ClassificationPooling.Last)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(batch.InputTensor(model.Device), null);
        // A bf16 model's logits are widened first, as the next-token loss does.
        if (logits.dtype != ScalarType.Float32 && logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
        Tensor pooled;
        if (pooling == ClassificationPooling.Last)
        {
            pooled = logits[.., -1, ..];
        }
        else
        {
            // The head is affine, so the mean of its outputs over the real positions is the head applied to
            // the mean of the last layer's outputs there: mean pooling needs nothing from inside the model.
            // A text that encodes to no ids counts one position, so that nothing divides by zero.
            var lengths = batch.LengthTensor(model.Device).clamp_min(1);
            var real = arange(batch.Length, device: model.Device).unsqueeze(0) < lengths.unsqueeze(1);
            pooled = (logits * real.unsqueeze(-1).to(logits.dtype)).sum(1) / lengths.unsqueeze(1).to(logits.dtype);
        }
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>The loss of the book's <c>calc_loss_batch</c>: last-position logits; a <see cref="BatchLoss{TBatch}"/> that counts examples.</summary>
    public static (Tensor Loss, long Count) LastPosition(ILanguageModel model, ClassificationBatch batch) =>
        Batch(model, batch, ClassificationPooling.Last);

    /// <summary>The <see cref="BatchLoss{TBatch}"/> for <paramref name="pooling"/>.</summary>
    public static BatchLoss<ClassificationBatch> For(ClassificationPooling pooling) =>
        pooling == ClassificationPooling.Last ? LastPosition : (model, batch) => Batch(model, batch, pooling);

    /// <summary>Mean cross-entropy of the batch's class logits against its labels, and the examples it counted.</summary>
    public static (Tensor Loss, long Count) Batch(ILanguageModel model, ClassificationBatch batch, ClassificationPooling pooling)
    {
        using var scope = NewDisposeScope();
        var loss = nn.functional.cross_entropy(Logits(model, batch, pooling), batch.LabelTensor(model.Device));
        return (loss.MoveToOuterDisposeScope(), batch.BatchSize);
    }
}
