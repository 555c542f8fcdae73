namespace LlmForge.Instruction;

/// <summary>
/// Batches of an <see cref="InstructionDataset"/>, collated as the book does (<see cref="InstructionCollate"/>),
/// with the same order rules as every loader (<see cref="BatchOrder"/>): the book's training loader shuffles
/// and drops the last partial batch, its evaluation loaders keep every entry in order.
/// </summary>
public sealed class InstructionLoader : Training.IBatchSource<TokenBatch>
{
    readonly BatchOrder _order;

    /// <param name="maxLength">ids per row at most: the model's context length (longer texts are cut).</param>
    /// <param name="maskInstruction">also ignore the targets that predict prompt tokens (the book's exercise 7.2).</param>
    public InstructionLoader(InstructionDataset dataset, int batchSize, int maxLength, bool shuffle = false, bool dropLast = true,
        ulong seed = 123, bool maskInstruction = false)
    {
        if (maxLength < 1) throw new BadInputException($"--max-length must be at least 1, got {maxLength}");
        _order = new BatchOrder(dataset.Count, batchSize, shuffle, dropLast, seed);
        Dataset = dataset;
        MaxLength = maxLength;
        MaskInstruction = maskInstruction;
    }

    public InstructionDataset Dataset { get; }

    public int MaxLength { get; }

    public bool MaskInstruction { get; }

    public int BatchSize => _order.BatchSize;

    /// <summary>Batches in one epoch.</summary>
    public int Count => _order.Count;

    /// <summary>The order of entries in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch) => _order.Order(epoch);

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on (a resumed run continues exactly).</summary>
    public IEnumerable<TokenBatch> Batches(int epoch = 0, int skip = 0)
    {
        foreach (var entries in _order.Batches(epoch, skip))
        {
            var ids = entries.Select(Dataset.Ids).ToArray();
            var promptLengths = MaskInstruction ? entries.Select(Dataset.PromptLength).ToArray() : null;
            yield return InstructionCollate.Collate(ids, Dataset.PadId, MaxLength, promptLengths);
        }
    }
}
