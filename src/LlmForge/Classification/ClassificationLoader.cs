namespace LlmForge.Classification;

/// <summary>
/// Batches of a <see cref="ClassificationDataset"/> with the same order rules as <see cref="DataLoader"/>
/// (<see cref="BatchOrder"/>): the book's training loader shuffles and drops the last partial batch,
/// its evaluation loaders keep every example in order.
/// </summary>
public sealed class ClassificationLoader : Training.IBatchSource<ClassificationBatch>
{
    readonly BatchOrder _order;

    public ClassificationLoader(ClassificationDataset dataset, int batchSize, bool shuffle = false, bool dropLast = true, ulong seed = 123)
    {
        _order = new BatchOrder(dataset.Count, batchSize, shuffle, dropLast, seed);
        Dataset = dataset;
    }

    public ClassificationDataset Dataset { get; }

    public int BatchSize => _order.BatchSize;

    /// <summary>Batches in one epoch.</summary>
    public int Count => _order.Count;

    /// <summary>The order of examples in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch) => _order.Order(epoch);

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on (a resumed run continues exactly).</summary>
    public IEnumerable<ClassificationBatch> Batches(int epoch = 0, int skip = 0)
    {
        foreach (var examples in _order.Batches(epoch, skip))
        {
            int rows = examples.Count, n = Dataset.Length;
            var inputs = new long[rows * n];
            var labels = new long[rows];
            var lengths = new long[rows];
            for (int r = 0; r < rows; r++)
            {
                Dataset.CopyRow(examples[r], inputs.AsSpan(r * n, n));
                labels[r] = Dataset.Label(examples[r]);
                lengths[r] = Dataset.RealLength(examples[r]);
            }
            yield return new ClassificationBatch(inputs, labels, lengths, rows, n);
        }
    }
}
