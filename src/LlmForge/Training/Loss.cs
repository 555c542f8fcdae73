namespace LlmForge.Training;

/// <summary>The book's loss functions (chapter 5): next-token cross-entropy of a batch, and its mean over a loader.</summary>
public static class Loss
{
    /// <summary><c>calc_loss_batch</c>: cross-entropy of the logits for <paramref name="inputs"/> against <paramref name="targets"/>.</summary>
    public static Tensor CalcLossBatch(ILanguageModel model, Tensor inputs, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(inputs, null);
        // A bf16 model's logits are widened first: the softmax over 50,257 entries needs fp32's precision.
        if (logits.dtype != ScalarType.Float32 && logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
        var loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten());
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>calc_loss_loader</c>: the mean batch loss over the first <paramref name="numBatches"/> batches
    /// (all when null), without gradients. Returns NaN for a loader with no batches, as the book does.
    /// </summary>
    public static double CalcLossLoader(ILanguageModel model, DataLoader loader, int? numBatches = null, Device? device = null)
    {
        int count = Math.Min(numBatches ?? loader.Count, loader.Count);
        if (count == 0) return double.NaN;
        using var noGrad = no_grad();
        double total = 0;
        foreach (var batch in loader.Batches().Take(count))
        {
            using var scope = NewDisposeScope();
            total += CalcLossBatch(model, batch.InputTensor(device), batch.TargetTensor(device)).item<float>();
        }
        return total / count;
    }
}
