namespace LlmForge.Evaluation;

/// <summary>A model's mean next-token loss on a text, and the perplexity it gives.</summary>
/// <param name="Loss">the mean cross-entropy over every window; NaN or infinite when the model's weights are not finite.</param>
/// <param name="Windows">the windows evaluated.</param>
/// <param name="ContextLength">the tokens per window.</param>
public sealed record TextEvaluationResult(double Loss, int Windows, int ContextLength)
{
    public double Perplexity => Math.Exp(Loss);

    /// <summary>The tokens whose next token was predicted.</summary>
    public long Tokens => (long)Windows * ContextLength;
}
