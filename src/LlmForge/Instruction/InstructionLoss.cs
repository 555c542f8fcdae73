namespace LlmForge.Instruction;

/// <summary>The book's instruction fine-tuning loss: next-token cross-entropy over the targets that are not ignored.</summary>
public static class InstructionLoss
{
    /// <summary>
    /// A <see cref="BatchLoss{TBatch}"/>: the mean cross-entropy over targets other than
    /// <see cref="InstructionCollate.IgnoreIndex"/>, and how many there were. A batch with none (every
    /// target masked, as can happen with a masked instruction longer than the context) gives a loss of 0
    /// that changes no gradient, where PyTorch's mean over nothing would be NaN and stop the run.
    /// </summary>
    public static (Tensor Loss, long Count) Batch(ILanguageModel model, TokenBatch batch)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(batch.InputTensor(model.Device), null);
        // A bf16 model's logits are widened first: the softmax over 50,257 entries needs fp32's precision.
        if (logits.dtype != ScalarType.Float32 && logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
        long counted = batch.CountedTargets;
        var loss = counted == 0
            ? logits.sum() * 0
            : nn.functional.cross_entropy(logits.flatten(0, 1), batch.TargetTensor(model.Device).flatten(), ignore_index: TokenBatch.IgnoreIndex);
        return (loss.MoveToOuterDisposeScope(), counted);
    }
}
