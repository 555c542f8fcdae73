namespace LlmForge.Preference;

/// <summary>
/// The book's <c>compute_logprobs</c> with a selection mask: how likely a model finds the response part
/// of each sequence, as the mean log-probability per counted token.
/// </summary>
public static class SequenceLogProbability
{
    /// <summary>
    /// Per row of <paramref name="ids"/> <c>[B, T]</c>: the mean over positions t ≥ 1 where
    /// <paramref name="mask"/> is true of log softmax(<paramref name="logits"/>[t − 1])[ids[t]]. A row
    /// with no counted position gives 0 (the book divides by zero there). Returns <c>[B]</c> in fp32.
    /// </summary>
    public static Tensor Mean(Tensor logits, Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        // A bf16 model's logits are widened first: the softmax over 50,257 entries needs fp32's precision.
        if (logits.dtype != ScalarType.Float32 && logits.dtype != ScalarType.Float64) logits = logits.to(ScalarType.Float32);
        var shifted = logits[.., ..^1, ..];
        var labels = ids[.., 1..];
        // Cross-entropy per position is −log softmax at the label, in one fused kernel (no [B, T, V] copy of log-probabilities).
        var logProbs = -nn.functional.cross_entropy(shifted.flatten(0, 1), labels.flatten(), reduction: nn.Reduction.None).view(labels.shape);
        var counted = mask[.., 1..].to(logProbs.dtype);
        var mean = (logProbs * counted).sum(-1) / counted.sum(-1).clamp_min(1);
        return mean.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="Mean"/> of <paramref name="model"/>'s logits for <paramref name="ids"/> (on the model's device).</summary>
    public static Tensor Of(ILanguageModel model, Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(ids, null);
        return Mean(logits, ids, mask).MoveToOuterDisposeScope();
    }
}
