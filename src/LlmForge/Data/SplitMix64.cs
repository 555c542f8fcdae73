namespace LlmForge.Data;

/// <summary>
/// A tiny, fully specified random generator (Steele, Lea and Flood's SplitMix64), so that shuffles
/// are the same on every machine and .NET version. Each (seed, stream) pair is an independent sequence.
/// </summary>
public sealed class SplitMix64(ulong seed, ulong stream = 0)
{
    ulong _state = seed ^ (stream * 0xD1B54A32D192ED03UL);

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, bound), without modulo bias.</summary>
    public int NextInt(int bound)
    {
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)bound;
        ulong x;
        do x = Next(); while (x >= limit);
        return (int)(x % (ulong)bound);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(T[] items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
