namespace LlmForge.Data;

/// <summary>
/// Groups a <see cref="GptDataset"/>'s windows into batches, as PyTorch's DataLoader does in the book:
/// a batch size, an optional shuffle whose order is fixed by the seed and the epoch, and dropping
/// of the last partial batch.
/// </summary>
public sealed class DataLoader : Training.IBatchSource<TokenBatch>
{
    readonly BatchOrder _order;

    public DataLoader(GptDataset dataset, int batchSize, bool shuffle = false, bool dropLast = true, ulong seed = 123)
    {
        _order = new BatchOrder(dataset.Count, batchSize, shuffle, dropLast, seed);
        Dataset = dataset;
    }

    public GptDataset Dataset { get; }

    public int BatchSize => _order.BatchSize;

    /// <summary>Batches in one epoch.</summary>
    public int Count => _order.Count;

    /// <summary>The order of windows in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch) => _order.Order(epoch);

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on.</summary>
    public IEnumerable<TokenBatch> Batches(int epoch = 0, int skip = 0)
    {
        foreach (var windows in _order.Batches(epoch, skip))
        {
            int rows = windows.Count;
            int n = Dataset.MaxLength;
            var inputs = new long[rows * n];
            var targets = new long[rows * n];
            for (int r = 0; r < rows; r++)
            {
                var input = Dataset.Input(windows[r]);
                var target = Dataset.Target(windows[r]);
                for (int t = 0; t < n; t++)
                {
                    inputs[r * n + t] = input[t];
                    targets[r * n + t] = target[t];
                }
            }
            yield return new TokenBatch(inputs, targets, rows, n);
        }
    }
}
