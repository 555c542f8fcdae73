namespace LlmForge.Data;

/// <summary>
/// Which items each batch of an epoch holds, for every loader: items 0, 1, 2, ... or a shuffle fixed by
/// the seed and the epoch (so a resumed run sees the same batches), in batches of a size, the last
/// partial batch dropped or kept, as PyTorch's DataLoader in the book.
/// </summary>
public sealed class BatchOrder
{
    readonly bool _shuffle, _dropLast;
    readonly ulong _seed;
    (int Epoch, int[] Order)? _lastOrder;

    public BatchOrder(int items, int batchSize, bool shuffle, bool dropLast, ulong seed)
    {
        if (batchSize < 1) throw new BadInputException($"batch size must be at least 1, got {batchSize}");
        Items = items;
        BatchSize = batchSize;
        _shuffle = shuffle;
        _dropLast = dropLast;
        _seed = seed;
    }

    public int Items { get; }

    public int BatchSize { get; }

    /// <summary>Batches in one epoch.</summary>
    public int Count => _dropLast ? Items / BatchSize : (Items + BatchSize - 1) / BatchSize;

    /// <summary>The order of items in <paramref name="epoch"/>: 0, 1, 2, ... or a seeded shuffle.</summary>
    public IReadOnlyList<int> Order(int epoch)
    {
        // The trainer asks once per step; shuffle each epoch once.
        if (_lastOrder is { } last && last.Epoch == epoch) return last.Order;
        var order = Enumerable.Range(0, Items).ToArray();
        if (_shuffle) new SplitMix64(_seed, (ulong)epoch).Shuffle(order);
        _lastOrder = (epoch, order);
        return order;
    }

    /// <summary>The items of each batch of <paramref name="epoch"/>, from batch <paramref name="skip"/> on.</summary>
    public IEnumerable<ArraySegment<int>> Batches(int epoch = 0, int skip = 0)
    {
        var order = (int[])Order(epoch);
        for (int b = skip; b < Count; b++)
            yield return new ArraySegment<int>(order, b * BatchSize, Math.Min(BatchSize, order.Length - b * BatchSize));
    }
}
