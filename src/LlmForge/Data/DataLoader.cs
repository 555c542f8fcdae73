namespace LlmForge.Data;

/// <summary>
/// Groups a <see cref="GptDataset"/>'s windows into batches, as PyTorch's DataLoader does in the book:
/// a batch size, an optional shuffle whose order is fixed by the seed and the epoch, and dropping
/// of the last partial batch.
/// </summary>
public sealed class DataLoader : Training.IBatchSource<TokenBatch>
{
    readonly bool _shuffle, _dropLast;
    readonly ulong _seed;

    public DataLoader(GptDataset dataset, int batchSize, bool shuffle = false, bool dropLast = true, ulong seed = 123)
    {
        if (batchSize < 1) throw new BadInputException($"batch size must be at least 1, got {batchSize}");
        Dataset = dataset;
        BatchSize = batchSize;
        _shuffle = shuffle;
        _dropLast = dropLast;
        _seed = seed;
    }

    public GptDataset Dataset { get; }

    public int BatchSize { get; }

    /// <summary>Batches in one epoch.</summary>
    public int Count => _dropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The order of windows in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch)
    {
        // The trainer asks once per step; shuffle each epoch once.
        if (_lastOrder is { } last && last.Epoch == epoch) return last.Order;
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (_shuffle) new SplitMix64(_seed, (ulong)epoch).Shuffle(order);
        _lastOrder = (epoch, order);
        return order;
    }

    (int Epoch, int[] Order)? _lastOrder;

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on.</summary>
    public IEnumerable<TokenBatch> Batches(int epoch = 0, int skip = 0)
    {
        var order = Order(epoch);
        for (int b = skip; b < Count; b++)
        {
            int rows = Math.Min(BatchSize, order.Count - b * BatchSize);
            int n = Dataset.MaxLength;
            var inputs = new long[rows * n];
            var targets = new long[rows * n];
            for (int r = 0; r < rows; r++)
            {
                int window = order[b * BatchSize + r];
                var input = Dataset.Input(window);
                var target = Dataset.Target(window);
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
