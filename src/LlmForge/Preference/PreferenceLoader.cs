namespace LlmForge.Preference;

/// <summary>
/// Batches of a <see cref="PreferenceDataset"/> (<see cref="PreferenceCollate"/>) with the order rules of
/// every loader (<see cref="BatchOrder"/>): the book's DPO training loader shuffles and drops the last
/// partial batch; its evaluation loaders keep every pair in order.
/// </summary>
public sealed class PreferenceLoader : Training.IBatchSource<PreferenceBatch>
{
    readonly BatchOrder _order;

    /// <param name="maxLength">the most ids a row keeps: the model's context, or less.</param>
    public PreferenceLoader(PreferenceDataset dataset, int batchSize, int maxLength, bool shuffle = false, bool dropLast = true, ulong seed = 123)
    {
        if (maxLength < 1) throw new BadInputException($"--max-length must be at least 1, got {maxLength}");
        _order = new BatchOrder(dataset.Count, batchSize, shuffle, dropLast, seed);
        Dataset = dataset;
        MaxLength = maxLength;
    }

    public PreferenceDataset Dataset { get; }

    public int BatchSize => _order.BatchSize;

    public int MaxLength { get; }

    /// <summary>Batches in one epoch.</summary>
    public int Count => _order.Count;

    /// <summary>The order of pairs in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch) => _order.Order(epoch);

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on (a resumed run continues exactly).</summary>
    public IEnumerable<PreferenceBatch> Batches(int epoch = 0, int skip = 0)
    {
        foreach (var pairs in _order.Batches(epoch, skip))
            yield return PreferenceCollate.Batch(pairs.Select(i => Dataset[i]).ToArray(), Dataset.PadId, MaxLength);
    }
}
