using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LlmForge.Generation;

/// <summary>
/// One pass over rows of logits where they lie in memory: whether every logit is finite, and the first index of the
/// largest (libtorch's <c>argmax</c> also returns the first). A decoded token needs both; through libtorch they are
/// two kernels and three tensors, 0.25-0.35 ms a token for GPT-2's 50,257 logits on this project's machine.
/// </summary>
static class LogitScan
{
    /// <summary>Logits this scan reads: <c>[B, vocab]</c>, contiguous, fp32 or bf16, on the CPU.</summary>
    public static bool Applies(Tensor logits) =>
        logits.device_type == DeviceType.CPU && logits.dim() == 2 && logits.is_contiguous()
        && logits.dtype is ScalarType.Float32 or ScalarType.BFloat16;

    /// <summary>Each row's largest logit's first index; null when some logit is NaN or infinite.</summary>
    public static long[]? Argmax(Tensor logits)
    {
        int rows = (int)logits.size(0), vocabulary = (int)logits.size(1);
        var ids = new long[rows];
        for (int b = 0; b < rows; b++)
        {
            var row = Row(logits, b, vocabulary);
            if (Largest(row) is not float largest) return null;
            ids[b] = FirstIndexOf(row, largest);
        }
        return ids;
    }

    /// <summary>Whether every logit is finite.</summary>
    public static bool AllFinite(Tensor logits)
    {
        int rows = (int)logits.size(0), vocabulary = (int)logits.size(1);
        for (int b = 0; b < rows; b++)
            if (Largest(Row(logits, b, vocabulary)) is null) return false;
        return true;
    }

    [ThreadStatic] static float[]? _widened;

    /// <summary>Row <paramref name="b"/> in fp32: the tensor's own memory, or bf16 widened into a buffer kept per thread.</summary>
    static ReadOnlySpan<float> Row(Tensor logits, int b, int vocabulary)
    {
        if (logits.dtype == ScalarType.Float32) return MemoryMarshal.Cast<byte, float>(logits.bytes).Slice(b * vocabulary, vocabulary);
        var values = MemoryMarshal.Cast<byte, ushort>(logits.bytes).Slice(b * vocabulary, vocabulary);
        if (_widened == null || _widened.Length < vocabulary) _widened = new float[vocabulary];
        var widened = _widened.AsSpan(0, vocabulary);
        Bf16.Widen(values, widened);
        return widened;
    }

    /// <summary>The largest value, or null when one is NaN or infinite (x - x is 0 only for a finite x).</summary>
    static float? Largest(ReadOnlySpan<float> row)
    {
        int i = 0;
        float largest = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && row.Length >= Vector256<float>.Count)
        {
            var most = Vector256.Create(float.NegativeInfinity);
            for (; i + Vector256<float>.Count <= row.Length; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(row.Slice(i, Vector256<float>.Count));
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero)) return null;
                most = Vector256.Max(most, v);
            }
            for (int lane = 0; lane < Vector256<float>.Count; lane++) largest = Math.Max(largest, most[lane]);
        }
        for (; i < row.Length; i++)
        {
            if (!float.IsFinite(row[i])) return null;
            largest = Math.Max(largest, row[i]);
        }
        return largest;
    }

    static int FirstIndexOf(ReadOnlySpan<float> row, float value)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var target = Vector256.Create(value);
            for (; i + Vector256<float>.Count <= row.Length; i += Vector256<float>.Count)
            {
                uint found = Vector256.Equals(Vector256.Create(row.Slice(i, Vector256<float>.Count)), target).ExtractMostSignificantBits();
                if (found != 0) return i + System.Numerics.BitOperations.TrailingZeroCount(found);
            }
        }
        for (; i < row.Length; i++)
            if (row[i] == value) return i;
        throw new InvalidOperationException("the largest logit vanished between two passes");
    }
}
