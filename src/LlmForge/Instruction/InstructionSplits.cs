namespace LlmForge.Instruction;

/// <summary>The training, validation and test entries of an instruction fine-tuning run.</summary>
public sealed record InstructionSplits(
    IReadOnlyList<InstructionEntry> Train,
    IReadOnlyList<InstructionEntry> Validation,
    IReadOnlyList<InstructionEntry> Test)
{
    // A stream of the seed apart from the loaders' (which use the epoch, 0, 1, 2, ...).
    const ulong SplitStream = 0x1257_7000;

    public const int MinEntries = BookSplit.MinEntries;

    /// <summary>
    /// One file split as the book does: in file order (or first shuffled with <paramref name="seed"/>
    /// when <paramref name="shuffle"/>), the first 85% train, the next 10% test, the rest (5%) validation
    /// (<see cref="Portions"/>; 1,100 entries give 935 / 110 / 55). A set left empty is a
    /// <see cref="BadInputException"/> naming it.
    /// </summary>
    public static InstructionSplits FromFile(InstructionFile file, bool shuffle = false, ulong seed = 123)
    {
        var entries = file.Entries.ToArray();
        if (shuffle) new SplitMix64(seed, SplitStream).Shuffle(entries);
        var (train, test, validation) = BookSplit.Split(entries, file.Path);
        return new InstructionSplits(train, validation, test);
    }

    /// <summary>Given sets, as they are (no split, no shuffle); a set not given is empty.</summary>
    public static InstructionSplits FromFiles(InstructionFile train, InstructionFile? validation = null, InstructionFile? test = null) =>
        new(train.Entries, validation?.Entries ?? [], test?.Entries ?? []);

    public static (int Train, int Test) Portions(int count) => BookSplit.Portions(count);
}
