namespace LlmForge.Classification;

/// <summary>The training, validation and test examples of a classifier, and its classes.</summary>
public sealed record ClassificationSplits(
    ClassLabels Labels,
    IReadOnlyList<LabelledExample> Train,
    IReadOnlyList<LabelledExample> Validation,
    IReadOnlyList<LabelledExample> Test)
{
    // Streams of the seed apart from the loaders' (which use the epoch, 0, 1, 2, ...).
    const ulong BalanceStream = 0xBA1A_0CE5, SplitStream = 0x5B11_7000;

    /// <summary>The fewest examples whose 70/10/20 split leaves no set empty (7 / 1 / 2).</summary>
    public const int MinExamples = 10;

    /// <summary>
    /// One file, shuffled with <paramref name="seed"/> and split 70/10/20 as the book does; with
    /// <paramref name="balance"/> every class is first cut to the size of the smallest by a seeded
    /// random sample. A set left empty is a <see cref="BadInputException"/> naming it.
    /// </summary>
    public static ClassificationSplits FromFile(LabelledText file, bool balance, ulong seed)
    {
        var labels = ClassLabels.Of(file);
        var examples = balance ? Balance(file.Examples, labels, seed) : file.Examples.ToArray();
        new SplitMix64(seed, SplitStream).Shuffle(examples);
        var (train, validation) = Sizes(examples.Length);
        string? empty = train == 0 ? "training" : validation == 0 ? "validation" : train + validation == examples.Length ? "test" : null;
        if (empty != null)
        {
            string after = balance ? " after --balance" : "";
            throw new BadInputException($"{file.Path}: {examples.Length} examples{after} leave the {empty} set empty when split 70/10/20; at least {MinExamples} are needed");
        }
        return new ClassificationSplits(labels, examples[..train], examples[train..(train + validation)], examples[(train + validation)..]);
    }

    /// <summary>Given sets, as they are (no balance, no shuffle); the classes are the labels of all three.</summary>
    public static ClassificationSplits FromFiles(LabelledText train, LabelledText validation, LabelledText test) =>
        new(ClassLabels.Of(train, validation, test), train.Examples, validation.Examples, test.Examples);

    /// <summary>The book's split sizes: <c>int(n * 0.7)</c> for training and <c>int(n * 0.1)</c> for validation, in doubles as Python computes them; the rest is the test set.</summary>
    public static (int Train, int Validation) Sizes(int count) => ((int)(count * 0.7), (int)(count * 0.1));

    /// <summary>Every class cut to the size of the smallest by a sample seeded by <paramref name="seed"/>; the file's order is kept.</summary>
    public static LabelledExample[] Balance(IReadOnlyList<LabelledExample> examples, ClassLabels labels, ulong seed)
    {
        var byClass = labels.Names.Select(name => Enumerable.Range(0, examples.Count).Where(i => examples[i].Label == name).ToArray()).ToArray();
        int smallest = byClass.Min(c => c.Length);
        var random = new SplitMix64(seed, BalanceStream);
        var kept = new List<int>();
        foreach (var members in byClass)
        {
            random.Shuffle(members);
            kept.AddRange(members[..smallest]);
        }
        kept.Sort();
        return kept.Select(i => examples[i]).ToArray();
    }
}
