namespace LlmForge.Generation;

/// <summary>How to pick each next token, and when to stop.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 50;

    /// <summary>
    /// 0 (the default, as in the book) is greedy decoding; above 0 samples from softmax(logits / T). Any finite
    /// value above 0 works: below about 0.01 sampling is practically greedy, far above 10 practically uniform.
    /// </summary>
    public double Temperature { get; init; } = 0.0;

    /// <summary>Sample only among the k most likely tokens.</summary>
    public int? TopK { get; init; }

    /// <summary>Sample only among the most likely tokens whose probabilities add up to p (nucleus sampling), p in (0, 1]; the most likely token always stays.</summary>
    public double? TopP { get; init; }

    /// <summary>Stop after generating this id (for example <c>&lt;|endoftext|&gt;</c>); it is included in the output.</summary>
    public int? StopTokenId { get; init; }

    /// <summary>More ids that end generation like <see cref="StopTokenId"/> (Llama 3's end of text and end of turn).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Whether generation ends after <paramref name="id"/>.</summary>
    public bool IsStop(int id) => id == StopTokenId || StopTokenIds.Contains(id);

    /// <summary>Fixes the sampling; the same seed gives the same tokens.</summary>
    public long Seed { get; init; } = 123;

    /// <summary>Reuse keys and values of earlier tokens (the default); off recomputes the whole context each step.</summary>
    public bool UseKvCache { get; init; } = true;

    /// <summary>Throws <see cref="BadInputException"/> naming the first option out of range.</summary>
    public GenerationOptions Validated()
    {
        if (MaxNewTokens < 0) throw new BadInputException($"max-new-tokens must be at least 0, got {MaxNewTokens}");
        if (!(Temperature >= 0 && double.IsFinite(Temperature)))
            throw new BadInputException($"temperature must be 0 (greedy) or a finite number above 0, got {Temperature}");
        if (TopK is < 1) throw new BadInputException($"top-k must be at least 1, got {TopK}");
        if (TopP is { } p && !(p > 0 && p <= 1)) throw new BadInputException($"top-p must be in (0, 1], got {p}");
        return this;
    }
}
