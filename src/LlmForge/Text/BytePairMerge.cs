using System.Buffers;

namespace LlmForge.Text;

/// <summary>
/// The byte-pair merging of one piece: of all adjacent pairs of parts, the one with the lowest
/// merge rank (the leftmost among equals) becomes one part, until no pair merges. Rescanning the
/// piece for every merge is quadratic in its length, which one long run of letters (200,000 × "a",
/// a minified line, untrusted text sent to a server) turns into minutes; long pieces therefore keep
/// their pairs in a heap ordered by (rank, position), which takes the same pair at each step.
/// </summary>
static class BytePairMerge
{
    // Up to this many bytes a plain scan is faster than keeping a heap.
    const int ScanLimit = 64;

    const int NoMerge = int.MaxValue, Gone = -1;

    /// <summary>Merges <paramref name="parts"/> (ids, one per byte at first) in place; returns how many parts are left at its start.</summary>
    public static int Merge(int[] parts, Dictionary<long, (int Rank, int Id)> merges) =>
        parts.Length <= ScanLimit ? MergeByScanning(parts, merges) : MergeWithHeap(parts, merges);

    /// <summary>For short pieces: find the lowest-ranked pair by scanning, merge it, repeat.</summary>
    public static int MergeByScanning(int[] parts, Dictionary<long, (int Rank, int Id)> merges)
    {
        int n = parts.Length;
        if (n < 2) return n;
        int[]? rented = n > ScanLimit ? ArrayPool<int>.Shared.Rent(n) : null;
        Span<int> ranks = rented ?? stackalloc int[ScanLimit];
        // ranks[i] is the rank of merging parts[i] with parts[i + 1].
        for (int i = 0; i + 1 < n; i++) ranks[i] = Rank(merges, parts[i], parts[i + 1], out _);
        while (n > 1)
        {
            int best = -1, bestRank = NoMerge;
            for (int i = 0; i + 1 < n; i++)
                if (ranks[i] < bestRank) (best, bestRank) = (i, ranks[i]);
            if (best < 0) break;
            Rank(merges, parts[best], parts[best + 1], out parts[best]);
            Array.Copy(parts, best + 2, parts, best + 1, n - best - 2);
            ranks.Slice(best + 1, n - best - 2).CopyTo(ranks[best..]);
            n--;
            if (best > 0) ranks[best - 1] = Rank(merges, parts[best - 1], parts[best], out _);
            if (best + 1 < n) ranks[best] = Rank(merges, parts[best], parts[best + 1], out _);
        }
        if (rented != null) ArrayPool<int>.Shared.Return(rented);
        return n;
    }

    /// <summary>
    /// For long pieces, in O(n log n): the parts form a linked list, and the heap holds every
    /// adjacent pair as (rank, position of its left part). A merge changes at most the pairs on
    /// either side of it; their new ranks are pushed, and entries a merge made stale (their part's
    /// rank is no longer theirs) are skipped when they come up.
    /// </summary>
    public static int MergeWithHeap(int[] parts, Dictionary<long, (int Rank, int Id)> merges)
    {
        int n = parts.Length;
        if (n < 2) return n;
        int[] next = ArrayPool<int>.Shared.Rent(n), previous = ArrayPool<int>.Shared.Rent(n), ranks = ArrayPool<int>.Shared.Rent(n);
        using var heap = new PairHeap(n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                next[i] = i + 1;
                previous[i] = i - 1;
                ranks[i] = i + 1 < n ? Rank(merges, parts[i], parts[i + 1], out _) : NoMerge;
                if (ranks[i] != NoMerge) heap.Push(ranks[i], i);
            }
            while (heap.TryPop(out int rank, out int left))
            {
                if (ranks[left] != rank) continue; // stale
                int right = next[left];
                Rank(merges, parts[left], parts[right], out parts[left]);
                ranks[right] = Gone;
                next[left] = next[right];
                if (next[left] < n)
                {
                    previous[next[left]] = left;
                    ranks[left] = Rank(merges, parts[left], parts[next[left]], out _);
                    if (ranks[left] != NoMerge) heap.Push(ranks[left], left);
                }
                else
                {
                    ranks[left] = NoMerge;
                }
                int before = previous[left];
                if (before >= 0)
                {
                    ranks[before] = Rank(merges, parts[before], parts[left], out _);
                    if (ranks[before] != NoMerge) heap.Push(ranks[before], before);
                }
            }
            int count = 0;
            for (int i = 0; i < n; i = next[i]) parts[count++] = parts[i];
            return count;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(previous);
            ArrayPool<int>.Shared.Return(ranks);
        }
    }

    static int Rank(Dictionary<long, (int Rank, int Id)> merges, int left, int right, out int merged)
    {
        if (merges.TryGetValue(TokenPair.Pack(left, right), out var m))
        {
            merged = m.Id;
            return m.Rank;
        }
        merged = -1;
        return NoMerge;
    }
}
