using System.Runtime.CompilerServices;
namespace LlmForge.Model.Llama;

/// <summary>
/// Rotary position embeddings (Su et al., 2021), as Llama and Qwen3 use them in place of GPT-2's learned
/// positions: each head's query and key vectors are turned, pair of dimensions by pair, through an angle
/// proportional to the token's position, so that their dot product depends on how far apart the two tokens
/// are. Pairs are formed in Hugging Face's "rotate half" convention: dimension i with dimension i + head_dim/2.
/// Pair i turns at frequency <c>theta^(-2i/head_dim)</c>, stretched for long contexts by Llama 3's scaling.
/// </summary>
/// <remarks>
/// The cosines and sines for every position of the context are computed once, in fp32 as Hugging Face does,
/// and kept outside the module tree (they are not parameters, and converting them to bf16 and back with the
/// model would lose precision); each forward pass takes the rows of its positions in the input's dtype and device.
/// </remarks>
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _cos, _sin; // [context, head_dim / 2], fp32, CPU
    readonly object _lock = new();
    (Device Device, ScalarType DType, Tensor Cos, Tensor Sin)? _converted;

    public RotaryEmbedding(int headDim, int contextLength, double theta, Llama3RopeScaling? scaling)
    {
        HeadDim = headDim;
        using var scope = NewDisposeScope();
        var inverse = InverseFrequencies(headDim, theta, scaling);
        var angles = arange(contextLength, dtype: ScalarType.Float32).unsqueeze(1) * inverse.unsqueeze(0);
        _cos = angles.cos().MoveToOuterDisposeScope();
        _sin = angles.sin().MoveToOuterDisposeScope();
    }

    public int HeadDim { get; }

    /// <summary>The rotation frequency of each pair, <c>[head_dim / 2]</c> in fp32.</summary>
    public static Tensor InverseFrequencies(int headDim, double theta, Llama3RopeScaling? scaling)
    {
        using var scope = NewDisposeScope();
        var exponents = arange(0, headDim, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / headDim;
        var inverse = full(exponents.shape, theta, ScalarType.Float32).pow(exponents).reciprocal();
        if (scaling != null) inverse = Llama3Scaled(inverse, scaling);
        return inverse.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Llama 3's rule: frequencies whose wavelength exceeds the original context / low_freq_factor are slowed by
    /// <c>factor</c>; those under the original context / high_freq_factor stay; those between are blended.
    /// </summary>
    static Tensor Llama3Scaled(Tensor inverse, Llama3RopeScaling s)
    {
        double lowFreqWavelength = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelength = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var wavelength = inverse.reciprocal() * (2 * Math.PI);
        var scaled = where(wavelength > lowFreqWavelength, inverse / s.Factor, inverse);
        var smooth = (wavelength.reciprocal() * s.OriginalMaxPositionEmbeddings - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        var blended = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        var between = (wavelength >= highFreqWavelength).logical_and(wavelength <= lowFreqWavelength);
        return where(between, blended, scaled);
    }

    /// <summary>Positions the table covers: the model's context.</summary>
    public long Positions => _cos.shape[0];

    /// <summary>
    /// Rotates <paramref name="x"/> <c>[B, heads, T, head_dim]</c>, whose tokens are at positions
    /// <paramref name="start"/> .. start + T - 1 (start is what a KV cache already holds).
    /// </summary>
    public Tensor Apply(Tensor x, long start)
    {
        if (DecodeRows(x) is int rows) return RotateInOnePass(x, Enumerable.Repeat(start, rows).ToArray());
        using var scope = NewDisposeScope();
        var (cosTable, sinTable) = Tables(x.device, x.dtype);
        long tokens = x.size(2);
        return Rotate(x, cosTable.narrow(0, start, tokens), sinTable.narrow(0, start, tokens)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Rotates <paramref name="x"/> <c>[B, heads, 1, head_dim]</c> of a decoding step of several sequences
    /// (<see cref="KvCache.Rows"/>): row b's token is at position <paramref name="starts"/>[b].
    /// </summary>
    public Tensor Apply(Tensor x, long[] starts)
    {
        if (DecodeRows(x) == starts.Length) return RotateInOnePass(x, starts);
        using var scope = NewDisposeScope();
        var (cosTable, sinTable) = Tables(x.device, x.dtype);
        using var rows = tensor(starts, device: x.device);
        long[] shape = [starts.Length, 1, 1, HeadDim / 2];
        return Rotate(x, cosTable.index_select(0, rows).view(shape), sinTable.index_select(0, rows).view(shape)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For a decoding step (one position, no gradient, contiguous fp32 or bf16 on the CPU): its sequences, B;
    /// otherwise null. Rotating a token's few heads is a dozen libtorch operations of a few microseconds each, more
    /// than the arithmetic, so such a step is rotated in one pass (<see cref="RotateInOnePass"/>).
    /// </summary>
    static int? DecodeRows(Tensor x) =>
        DecodeLinear.Enabled && !is_grad_enabled() && x.device_type == DeviceType.CPU && x.dim() == 4 && x.size(2) == 1
        && x.dtype is ScalarType.Float32 or ScalarType.BFloat16 && x.is_contiguous() ? (int)x.size(0) : null;

    /// <summary>
    /// <see cref="Rotate"/> for one position per sequence, element by element where the tensors lie, rounding where
    /// libtorch rounds (each product and sum to the dtype, with the tables in the dtype), so the bits are libtorch's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    unsafe Tensor RotateInOnePass(Tensor x, long[] positions)
    {
        int heads = (int)x.size(1), size = x.dtype == ScalarType.BFloat16 ? 2 : 4;
        var result = empty_like(x);
        fixed (byte* input = x.bytes, output = result.bytes)
            for (int b = 0; b < positions.Length; b++)
            {
                long row = (long)b * heads * HeadDim * size;
                Rotate(input + row, output + row, heads, positions[b], x.dtype);
            }
        return result;
    }

    /// <summary>
    /// <paramref name="heads"/> rows of <see cref="HeadDim"/> values of <paramref name="dtype"/> (fp32 or bf16, on the CPU)
    /// at <paramref name="input"/>, one token's at <paramref name="position"/>, rotated into <paramref name="output"/> (which
    /// may be the same memory), rounding where libtorch rounds: each product and sum to the dtype, with the tables in the dtype.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal unsafe void Rotate(byte* input, byte* output, int heads, long position, ScalarType dtype)
    {
        var (cosTable, sinTable) = Tables(CPU, dtype);
        int half = HeadDim / 2;
        bool bf16 = dtype == ScalarType.BFloat16;
        fixed (byte* cosines = cosTable.bytes, sines = sinTable.bytes)
        {
            float Read(byte* at, long i) => bf16 ? Bf16.ToFloat(((ushort*)at)[i]) : ((float*)at)[i];
            float Round(float value) => bf16 ? Bf16.ToFloat(Bf16.FromFloat(value)) : value;
            long angle = position * half;
            for (int h = 0; h < heads; h++)
            {
                long row = (long)h * HeadDim;
                for (int i = 0; i < half; i++)
                {
                    float cos = Read(cosines, angle + i), sin = Read(sines, angle + i);
                    float x1 = Read(input, row + i), x2 = Read(input, row + half + i);
                    float first = Round(Round(x1 * cos) - Round(x2 * sin)), second = Round(Round(x2 * cos) + Round(x1 * sin));
                    if (bf16)
                    {
                        ((ushort*)output)[row + i] = Bf16.FromFloat(first);
                        ((ushort*)output)[row + half + i] = Bf16.FromFloat(second);
                    }
                    else
                    {
                        ((float*)output)[row + i] = first;
                        ((float*)output)[row + half + i] = second;
                    }
                }
            }
        }
    }

    /// <summary><paramref name="x"/> rotated by angles whose cosines and sines broadcast against its halves.</summary>
    Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        int half = HeadDim / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        // Hugging Face's x * cos + rotate_half(x) * sin, with rotate_half(x) = [-x2, x1] and cos, sin repeated per half.
        return cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1);
    }

    /// <summary>The tables in <paramref name="dtype"/> on <paramref name="device"/>, converted once and kept.</summary>
    (Tensor Cos, Tensor Sin) Tables(Device device, ScalarType dtype)
    {
        if (device.type == DeviceType.CPU && dtype == ScalarType.Float32) return (_cos, _sin);
        lock (_lock)
        {
            if (_converted is not { } c || c.DType != dtype || c.Device.type != device.type || c.Device.index != device.index)
            {
                if (_converted is { } old)
                {
                    old.Cos.Dispose();
                    old.Sin.Dispose();
                }
                var cos = _cos.to(dtype, device).DetachFromDisposeScope();
                var sin = _sin.to(dtype, device).DetachFromDisposeScope();
                _converted = c = (device, dtype, cos, sin);
            }
            return (c.Cos, c.Sin);
        }
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
        if (_converted is { } c)
        {
            c.Cos.Dispose();
            c.Sin.Dispose();
        }
    }
}
