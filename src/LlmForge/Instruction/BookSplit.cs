namespace LlmForge.Instruction;

/// <summary>
/// Chapter 7's split of one file, for instruction and preference data alike: in order, the first
/// <c>int(n * 0.85)</c> entries train, the next <c>int(n * 0.1)</c> test, the rest (5%) validate
/// (1,100 entries: 935 / 110 / 55).
/// </summary>
public static class BookSplit
{
    /// <summary>The fewest entries whose split leaves no set empty (8 / 1 / 1).</summary>
    public const int MinEntries = 10;

    /// <summary>The book's portions, in doubles as Python computes them.</summary>
    public static (int Train, int Test) Portions(int count) => ((int)(count * 0.85), (int)(count * 0.1));

    /// <summary>The three sets of <paramref name="entries"/>; a set left empty is a <see cref="BadInputException"/> naming <paramref name="path"/> and the set.</summary>
    public static (T[] Train, T[] Test, T[] Validation) Split<T>(IReadOnlyList<T> entries, string path)
    {
        var (train, test) = Portions(entries.Count);
        string? empty = train == 0 ? "training" : test == 0 ? "test" : train + test == entries.Count ? "validation" : null;
        if (empty != null)
            throw new BadInputException($"{path}: {entries.Count} entries leave the {empty} set empty when split 85/10/5; at least {MinEntries} are needed");
        var all = entries.ToArray();
        return (all[..train], all[train..(train + test)], all[(train + test)..]);
    }
}
