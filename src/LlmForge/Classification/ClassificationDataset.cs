namespace LlmForge.Classification;

/// <summary>
/// Encoded examples of one set (the book's <c>SpamDataset</c>): token ids, class index, and every row
/// padded with <see cref="PadId"/> or truncated to <see cref="Length"/> when it is batched.
/// </summary>
public sealed class ClassificationDataset
{
    readonly IReadOnlyList<int[]> _ids;
    readonly IReadOnlyList<int> _labels;

    public ClassificationDataset(IReadOnlyList<int[]> ids, IReadOnlyList<int> labels, int length, int padId)
    {
        if (ids.Count != labels.Count) throw new ArgumentException($"{ids.Count} texts but {labels.Count} labels");
        if (length < 1) throw new ArgumentException($"the padded length must be at least 1, got {length}");
        _ids = ids;
        _labels = labels;
        Length = length;
        PadId = padId;
    }

    public int Count => _ids.Count;

    /// <summary>Ids per row: every text padded or truncated to it.</summary>
    public int Length { get; }

    public int PadId { get; }

    /// <summary>The most ids a text of this set has before truncation.</summary>
    public int LongestText => _ids.Count == 0 ? 0 : _ids.Max(ids => ids.Length);

    public int Label(int example) => _labels[example];

    /// <summary>Ids of <paramref name="example"/> that are text, not padding (at most <see cref="Length"/>).</summary>
    public int RealLength(int example) => Math.Min(_ids[example].Length, Length);

    /// <summary>Writes <paramref name="example"/>'s row of <see cref="Length"/> ids into <paramref name="row"/>.</summary>
    public void CopyRow(int example, Span<long> row)
    {
        int real = RealLength(example);
        var ids = _ids[example];
        for (int t = 0; t < real; t++) row[t] = ids[t];
        row[real..Length].Fill(PadId);
    }
}
