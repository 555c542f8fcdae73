using System.Runtime.CompilerServices;

namespace LlmForge.Text;

/// <summary>
/// The ids of pieces already merged, looked up by the piece's characters: most words recur, and a lookup
/// costs less than merging again. An open-addressing table of immutable entries, so that threads may read
/// and write it at once without locks (a write lost to a race only costs a merge later). A lookup looks at
/// no more than <see cref="ProbeLimit"/> slots, so text crafted to collide costs merges, never long searches;
/// the hash is seeded per process. The table starts small (it stays in the processor's cache for a text with
/// few distinct words), doubles when half full, and past <see cref="MaxSlots"/> is emptied instead. An entry
/// holds a piece of up to four chars, and a result of one id, in itself: most lookups read no other object.
/// </summary>
sealed class PieceCache
{
    sealed class Entry(int hash, int length, ulong packed, string? piece, int single, int[] ids)
    {
        public readonly int Hash = hash;
        public readonly int Length = length;
        public readonly ulong Packed = packed;  // the chars of a piece of up to four
        public readonly string? Piece = piece;  // a longer piece
        public readonly int Single = single;    // the id when there is one, else -1
        public readonly int[] Ids = ids;
    }

    /// <summary>Pieces longer than this are merged every time rather than cached.</summary>
    public const int MaxPieceLength = 64;
    const int ProbeLimit = 8;
    const int InitialSlots = 1 << 14, MaxSlots = 1 << 18;
    static readonly uint Seed = (uint)Random.Shared.Next();

    Entry?[] _table = new Entry?[InitialSlots];
    int _count;

    /// <summary>Appends the cached ids of <paramref name="piece"/> to <paramref name="ids"/>; false when it is not cached.</summary>
    public bool TryAppend(ReadOnlySpan<char> piece, List<int> ids)
    {
        var table = _table;
        int hash = Hash(piece), mask = table.Length - 1;
        ulong packed = Pack(piece);
        for (int probe = 0; probe < ProbeLimit; probe++)
        {
            var entry = table[(hash + probe) & mask];
            if (entry == null) break;
            if (entry.Hash != hash || entry.Length != piece.Length) continue;
            if (piece.Length <= 4 ? entry.Packed != packed : !piece.SequenceEqual(entry.Piece)) continue;
            if (entry.Single >= 0) ids.Add(entry.Single);
            else ids.AddRange(entry.Ids);
            return true;
        }
        return false;
    }

    public void Add(ReadOnlySpan<char> piece, int[] ids)
    {
        if (piece.Length > MaxPieceLength) return;
        var table = _table;
        if (Interlocked.Increment(ref _count) > table.Length / 2) table = Grow(table);
        Insert(table, new Entry(Hash(piece), piece.Length, Pack(piece), piece.Length > 4 ? piece.ToString() : null, ids.Length == 1 ? ids[0] : -1, ids));
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

    /// <summary>The chars of a piece of up to four, 16 bits each (0 for a longer piece).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Pack(ReadOnlySpan<char> piece)
    {
        if (piece.Length > 4) return 0;
        ulong packed = 0;
        foreach (char c in piece) packed = (packed << 16) | c;
        return packed;
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
