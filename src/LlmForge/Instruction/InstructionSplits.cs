using LlmForge.Data;

namespace LlmForge.Instruction;

/// <summary>The training, validation and test entries of an instruction fine-tuning run.</summary>
public sealed record InstructionSplits(
    IReadOnlyList<InstructionEntry> Train,
    IReadOnlyList<InstructionEntry> Validation,
    IReadOnlyList<InstructionEntry> Test)
{
    // A stream of the seed apart from the loaders' (which use the epoch, 0, 1, 2, ...).
    const ulong SplitStream = 0x1257_7000;

    /// <summary>The fewest entries whose 85/10/5 split leaves no set empty (8 / 1 / 1).</summary>
    public const int MinEntries = 10;

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
        var (train, test) = Portions(entries.Length);
        string? empty = train == 0 ? "training" : test == 0 ? "test" : train + test == entries.Length ? "validation" : null;
        if (empty != null)
            throw new BadInputException($"{file.Path}: {entries.Length} entries leave the {empty} set empty when split 85/10/5; at least {MinEntries} are needed");
        return new InstructionSplits(entries[..train], entries[(train + test)..], entries[train..(train + test)]);
    }

    /// <summary>Given sets, as they are (no split, no shuffle); a set not given is empty.</summary>
    public static InstructionSplits FromFiles(InstructionFile train, InstructionFile? validation = null, InstructionFile? test = null) =>
        new(train.Entries, validation?.Entries ?? [], test?.Entries ?? []);

    /// <summary>
    /// The book's portions: <c>int(n * 0.85)</c> entries for training and <c>int(n * 0.1)</c> for testing,
    /// in doubles as Python computes them; the rest is the validation set.
    /// </summary>
    public static (int Train, int Test) Portions(int count) => ((int)(count * 0.85), (int)(count * 0.1));
}
