namespace LlmForge.Text;

/// <summary>
/// The ids of pieces already merged, looked up by the piece's characters: most words recur, and a lookup
/// costs less than merging again. An open-addressing table of immutable entries, so that threads may read
/// and write it at once without locks (a lost write only costs a merge later). A lookup looks at no more
/// than <see cref="ProbeLimit"/> slots, so text crafted to collide costs merges, never long searches; the
/// hash is seeded per process. The table is emptied when half full.
/// </summary>
sealed class PieceCache
{
    sealed record Entry(string Piece, int Hash, int[] Ids);

    /// <summary>Pieces longer than this are merged every time rather than cached.</summary>
    public const int MaxPieceLength = 64;
    const int ProbeLimit = 8;
    const int Slots = 1 << 18;
    static readonly uint Seed = (uint)Random.Shared.Next();

    Entry?[] _table = new Entry?[Slots];
    int _count;

    public bool TryGet(ReadOnlySpan<char> piece, out int[] ids)
    {
        var table = _table;
        int hash = Hash(piece);
        for (int probe = 0; probe < ProbeLimit; probe++)
        {
            var entry = table[(hash + probe) & (Slots - 1)];
            if (entry == null) break;
            if (entry.Hash == hash && piece.SequenceEqual(entry.Piece))
            {
                ids = entry.Ids;
                return true;
            }
        }
        ids = [];
        return false;
    }

    public void Add(ReadOnlySpan<char> piece, int[] ids)
    {
        if (piece.Length > MaxPieceLength) return;
        if (Interlocked.Increment(ref _count) > Slots / 2)
        {
            _table = new Entry?[Slots];
            Interlocked.Exchange(ref _count, 0);
        }
        var table = _table;
        int hash = Hash(piece);
        for (int probe = 0; probe < ProbeLimit; probe++)
        {
            ref var slot = ref table[(hash + probe) & (Slots - 1)];
            if (slot == null)
            {
                slot = new Entry(piece.ToString(), hash, ids);
                return;
            }
        }
    }

    /// <summary>FNV-1a over the chars, seeded, with the high bits folded down (the table uses the low ones).</summary>
    static int Hash(ReadOnlySpan<char> piece)
    {
        uint hash = 2166136261u ^ Seed;
        foreach (char c in piece) hash = (hash ^ c) * 16777619u;
        return (int)(hash ^ (hash >> 15));
    }
}
