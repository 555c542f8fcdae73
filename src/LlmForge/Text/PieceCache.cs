using System.Runtime.CompilerServices;

namespace LlmForge.Text;

/// <summary>
/// The ids of pieces already merged, looked up by the piece's characters: most words recur, and a lookup
/// costs less than merging again. An open-addressing table of immutable entries, so that threads may read
/// and write it at once without locks (a write lost to a race only costs a merge later). A lookup looks at
/// no more than <see cref="ProbeLimit"/> slots, so text crafted to collide costs merges, never long searches;
/// the hash is seeded per process. The table starts small (it stays in the processor's cache for a text with
/// few distinct words), doubles when half full, and past <see cref="MaxSlots"/> is emptied instead.
/// </summary>
sealed class PieceCache
{
    sealed class Entry(string piece, int hash, int[] ids)
    {
        public readonly string Piece = piece;
        public readonly int Hash = hash;
        public readonly int[] Ids = ids;
    }

    /// <summary>Pieces longer than this are merged every time rather than cached.</summary>
    public const int MaxPieceLength = 64;
    const int ProbeLimit = 8;
    const int InitialSlots = 1 << 14, MaxSlots = 1 << 18;
    static readonly uint Seed = (uint)Random.Shared.Next();

    Entry?[] _table = new Entry?[InitialSlots];
    int _count;

    public bool TryGet(ReadOnlySpan<char> piece, out int[] ids)
    {
        var table = _table;
        int hash = Hash(piece), mask = table.Length - 1;
        for (int probe = 0; probe < ProbeLimit; probe++)
        {
            var entry = table[(hash + probe) & mask];
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
        var table = _table;
        if (Interlocked.Increment(ref _count) > table.Length / 2) table = Grow(table);
        Insert(table, new Entry(piece.ToString(), Hash(piece), ids));
    }

    /// <summary>A table twice the size holding the same entries, or an empty one past <see cref="MaxSlots"/>; published for all threads.</summary>
    Entry?[] Grow(Entry?[] table)
    {
        var bigger = new Entry?[table.Length < MaxSlots ? 2 * table.Length : table.Length];
        int kept = 0;
        if (bigger.Length > table.Length)
            foreach (var entry in table)
                if (entry != null && Insert(bigger, entry)) kept++;
        _table = bigger;
        Interlocked.Exchange(ref _count, kept);
        return bigger;
    }

    static bool Insert(Entry?[] table, Entry entry)
    {
        int mask = table.Length - 1;
        for (int probe = 0; probe < ProbeLimit; probe++)
        {
            ref var slot = ref table[(entry.Hash + probe) & mask];
            if (slot == null)
            {
                slot = entry;
                return true;
            }
        }
        return false;
    }

    /// <summary>FNV-1a over the chars, seeded, with the high bits folded down (the table uses the low ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Hash(ReadOnlySpan<char> piece)
    {
        uint hash = 2166136261u ^ Seed;
        foreach (char c in piece) hash = (hash ^ c) * 16777619u;
        return (int)(hash ^ (hash >> 15));
    }
}
