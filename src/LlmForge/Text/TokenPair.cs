namespace LlmForge.Text;

/// <summary>
/// A pair of adjacent token ids packed into one long, the key of the merge tables. Its comparer
/// mixes the bits: long's own hash (high half XOR low half) would give left ^ right, and collide
/// for most pairs of a 50k vocabulary.
/// </summary>
static class TokenPair
{
    public static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    public static int Left(long pair) => (int)(pair >> 32);

    public static int Right(long pair) => (int)(uint)pair;

    public static readonly IEqualityComparer<long> Comparer = new MixingComparer();

    sealed class MixingComparer : IEqualityComparer<long>
    {
        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long pair) => (int)(((ulong)pair * 0x9E3779B97F4A7C15UL) >> 32);
    }
}
