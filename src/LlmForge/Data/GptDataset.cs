namespace LlmForge.Data;

/// <summary>
/// The book's <c>GPTDatasetV1</c>: sliding windows over token ids. Window k starts at k·stride; its
/// input is <c>ids[start..start+maxLength)</c> and its target the same span shifted one token right.
/// As in the book, starts run while <c>start &lt; ids.Length - maxLength</c>.
/// </summary>
public sealed class GptDataset
{
    readonly int[] _ids;

    public GptDataset(int[] tokenIds, int maxLength, int stride)
    {
        if (maxLength < 1) throw new BadInputException($"context length must be at least 1, got {maxLength}");
        if (stride < 1) throw new BadInputException($"stride must be at least 1, got {stride}");
        if (tokenIds.Length <= maxLength)
            throw new BadInputException($"context length {maxLength} needs more than {maxLength} tokens, and the text has {tokenIds.Length}");
        _ids = tokenIds;
        MaxLength = maxLength;
        Stride = stride;
        Count = (tokenIds.Length - maxLength - 1) / stride + 1;
    }

    public int MaxLength { get; }

    public int Stride { get; }

    /// <summary>The number of windows.</summary>
    public int Count { get; }

    public int TokenCount => _ids.Length;

    public ReadOnlySpan<int> Input(int index) => _ids.AsSpan(Start(index), MaxLength);

    public ReadOnlySpan<int> Target(int index) => _ids.AsSpan(Start(index) + 1, MaxLength);

    int Start(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return index * Stride;
    }
}
