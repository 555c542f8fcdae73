using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlmForge.Model;

/// <summary>
/// bf16 numbers as the decode paths read and write them where they lie: a bf16 value is the high half of its fp32,
/// so widening is exact (a shift), and narrowing rounds to nearest with ties to even, as libtorch rounds.
/// </summary>
static class Bf16
{
    // Inlined: a call in a kernel's row loop made the JIT keep the kernel's vector constant on the stack and reload
    // it (and jump) on every pass of the inner loop (seen in the JIT's listing of DecodeLinear.Bf16Rows).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bf16) => BitConverter.Int32BitsToSingle(bf16 << 16);

    /// <summary>fp32 to bf16, rounding to nearest with ties to even (a NaN stays a NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float value)
    {
        if (float.IsNaN(value)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Eight fp32 values rounded to bf16 and widened back (<see cref="FromFloat"/>, then <see cref="ToFloat"/>): what a bf16 tensor would hold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Round(Vector256<float> values)
    {
        var bits = values.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256.Create(1u))) & Vector256.Create(0xFFFF0000u);
        return Vector256.ConditionalSelect(Vector256.Equals(values, values), rounded.AsSingle(), Vector256.Create(0x7FC00000u).AsSingle());
    }

    /// <summary>Sixteen fp32 values rounded (<see cref="FromFloat"/>) to bf16, <paramref name="first"/>'s eight first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> Narrow(Vector256<float> first, Vector256<float> second) =>
        Vector256.Narrow(Round(first).AsUInt32() >> 16, Round(second).AsUInt32() >> 16);

    /// <summary><paramref name="source"/> widened into the first values of <paramref name="into"/>, sixteen at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> into)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Vector256<ushort>.Count <= source.Length; i += Vector256<ushort>.Count)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(source.Slice(i, Vector256<ushort>.Count)));
                Vector256.ShiftLeft(low, 16).AsSingle().CopyTo(into.Slice(i));
                Vector256.ShiftLeft(high, 16).AsSingle().CopyTo(into.Slice(i + Vector256<uint>.Count));
            }
        for (; i < source.Length; i++) into[i] = ToFloat(source[i]);
    }

    /// <summary><paramref name="source"/> rounded (<see cref="FromFloat"/>) into the first values of <paramref name="into"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static void Narrow(ReadOnlySpan<float> source, Span<ushort> into)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= source.Length; i += 16)
                Narrow(Vector256.Create(source.Slice(i, 8)), Vector256.Create(source.Slice(i + 8, 8))).CopyTo(into.Slice(i));
        for (; i < source.Length; i++) into[i] = FromFloat(source[i]);
    }
}
