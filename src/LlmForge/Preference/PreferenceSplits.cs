namespace LlmForge.Preference;

/// <summary>The training, test and validation pairs of a preference-tuning run.</summary>
public sealed record PreferenceSplits(IReadOnlyList<PreferenceEntry> Train, IReadOnlyList<PreferenceEntry> Test, IReadOnlyList<PreferenceEntry> Validation)
{
    /// <summary>The fewest entries whose 85/10/5 split leaves no set empty (8 / 1 / 1).</summary>
    public const int MinEntries = 10;

    /// <summary>
    /// The book's chapter-7 split, in file order: the first <c>int(n * 0.85)</c> entries train, the next
    /// <c>int(n * 0.1)</c> test, the rest validate (1,100 entries: 935 / 110 / 55). A set left empty is a
    /// <see cref="BadInputException"/> naming <paramref name="path"/> and the set.
    /// </summary>
    public static PreferenceSplits Split(IReadOnlyList<PreferenceEntry> entries, string path)
    {
        var (train, test) = Sizes(entries.Count);
        string? empty = train == 0 ? "training" : test == 0 ? "test" : train + test == entries.Count ? "validation" : null;
        if (empty != null)
            throw new BadInputException($"{path}: {entries.Count} entries leave the {empty} set empty when split 85/10/5; at least {MinEntries} are needed");
        var all = entries.ToArray();
        return new PreferenceSplits(all[..train], all[train..(train + test)], all[(train + test)..]);
    }

    /// <summary>The book's sizes, in doubles as Python computes them: <c>int(n * 0.85)</c> to train, <c>int(n * 0.1)</c> to test.</summary>
    public static (int Train, int Test) Sizes(int count) => ((int)(count * 0.85), (int)(count * 0.1));
}
