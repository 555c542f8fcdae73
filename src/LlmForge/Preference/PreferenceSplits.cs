namespace LlmForge.Preference;

/// <summary>The training, test and validation pairs of a preference-tuning run.</summary>
public sealed record PreferenceSplits(IReadOnlyList<PreferenceEntry> Train, IReadOnlyList<PreferenceEntry> Test, IReadOnlyList<PreferenceEntry> Validation)
{
    public const int MinEntries = Instruction.BookSplit.MinEntries;

    /// <summary>The book's chapter-7 split, in file order (<see cref="Instruction.BookSplit"/>).</summary>
    public static PreferenceSplits Split(IReadOnlyList<PreferenceEntry> entries, string path)
    {
        var (train, test, validation) = Instruction.BookSplit.Split(entries, path);
        return new PreferenceSplits(train, test, validation);
    }

    public static (int Train, int Test) Sizes(int count) => Instruction.BookSplit.Portions(count);
}
