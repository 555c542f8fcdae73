namespace LlmForge.Text;

/// <summary>
/// A binary min-heap of the adjacent pairs of a piece being merged, each packed into one long as
/// (rank, position): the smallest key is the lowest-ranked pair, and the leftmost among equal ranks.
/// Its arrays come from the shared pool; <see cref="Dispose"/> returns them.
/// </summary>
sealed class PairHeap : IDisposable
{
    long[] _keys;
    int _count;

    public PairHeap(int capacity)
    {
        _keys = System.Buffers.ArrayPool<long>.Shared.Rent(Math.Max(capacity, 16));
        _count = 0;
    }

    public static long Key(int rank, int position) => ((long)rank << 32) | (uint)position;

    public void Push(int rank, int position)
    {
        if (_count == _keys.Length) Grow();
        long key = Key(rank, position);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_keys[parent] <= key) break;
            _keys[i] = _keys[parent];
            i = parent;
        }
        _keys[i] = key;
    }

    public bool TryPop(out int rank, out int position)
    {
        if (_count == 0)
        {
            (rank, position) = (0, 0);
            return false;
        }
        long top = _keys[0];
        long last = _keys[--_count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count) break;
            if (child + 1 < _count && _keys[child + 1] < _keys[child]) child++;
            if (last <= _keys[child]) break;
            _keys[i] = _keys[child];
            i = child;
        }
        _keys[i] = last;
        rank = (int)(top >> 32);
        position = (int)(uint)top;
        return true;
    }

    void Grow()
    {
        var bigger = System.Buffers.ArrayPool<long>.Shared.Rent(2 * _keys.Length);
        Array.Copy(_keys, bigger, _count);
        System.Buffers.ArrayPool<long>.Shared.Return(_keys);
        _keys = bigger;
    }

    public void Dispose()
    {
        if (_keys.Length > 0) System.Buffers.ArrayPool<long>.Shared.Return(_keys);
        _keys = [];
        _count = 0;
    }
}
