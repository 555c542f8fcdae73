using System.Runtime.CompilerServices;
using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// Root-mean-square normalisation (Zhang and Sennrich, 2019), LayerNorm's simpler successor in Llama and
/// Qwen3: each vector is divided by the root of its mean square (plus <c>eps</c>), without centring it,
/// then multiplied by a trained <c>scale</c>; there is no shift. As in Hugging Face's models the division
/// is done in fp32 whatever the model's dtype, and the result is cast back before the scale.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    public readonly Parameter scale;
    readonly double _eps;

    public RmsNorm(int dim, double eps, ScalarType dtype = ScalarType.Float32) : base(nameof(RmsNorm))
    {
        scale = new Parameter(ones(dim, dtype));
        _eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (DecodeRows(x)) return NormaliseInOnePass(x);
        using var scope = NewDisposeScope();
        var input = x.to(ScalarType.Float32);
        var meanSquare = input.pow(2).mean([-1], keepdim: true);
        var normalised = (input * (meanSquare + _eps).rsqrt()).to(x.dtype);
        return (scale * normalised).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A decoding step's few rows (no gradient, contiguous fp32 or bf16 on the CPU, the scale in the same dtype): eight
    /// libtorch operations of a few microseconds each for a thousand numbers, so they are normalised in one pass instead.
    /// </summary>
    bool DecodeRows(Tensor x) =>
        DecodeLinear.Enabled && !is_grad_enabled() && x.device_type == DeviceType.CPU && x.dtype is ScalarType.Float32 or ScalarType.BFloat16
        && scale.dtype == x.dtype && x.is_contiguous() && x.numel() <= 64 * scale.numel();

    /// <summary>
    /// The forward above where the numbers lie: the mean square in fp32, x times its reciprocal root in fp32 rounded
    /// to the dtype, then times the scale rounded again, as libtorch rounds; its reductions differ in order, so the
    /// results agree to float rounding (fp32 within a few units in the last place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    unsafe Tensor NormaliseInOnePass(Tensor x)
    {
        int dim = (int)scale.numel(), rows = (int)(x.numel() / dim);
        bool bf16 = x.dtype == ScalarType.BFloat16;
        var result = empty_like(x);
        var row = bf16 ? new float[dim] : [];
        fixed (byte* input = x.bytes, output = result.bytes, weights = scale.bytes)
        fixed (float* widened = row)
            for (int r = 0; r < rows; r++)
            {
                long at = (long)r * dim * (bf16 ? 2 : 4);
                float* values = bf16 ? widened : (float*)(input + at);
                if (bf16) Bf16.Widen(new ReadOnlySpan<ushort>(input + at, dim), new Span<float>(widened, dim));
                NormaliseRow(values, dim, (float)_eps, weights, bf16, output + at);
            }
        return result;
    }

    /// <summary>The norm's epsilon, for a decoding step on raw memory (<see cref="LlamaDecodeStep"/>).</summary>
    internal double Eps => _eps;

    /// <summary>
    /// One row of <paramref name="dim"/> fp32 values (holding values of the dtype) normalised into <paramref name="output"/>
    /// in the dtype, times <paramref name="weights"/> (the scale, in the dtype): the mean square in fp32, x times its
    /// reciprocal root in fp32 rounded to the dtype, then times the scale rounded again, as libtorch rounds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static unsafe void NormaliseRow(float* x, int dim, float eps, byte* weights, bool bf16, byte* output)
    {
        float squares = 0;
        for (int i = 0; i < dim; i++) squares += x[i] * x[i];
        float inverse = 1 / MathF.Sqrt(squares / dim + eps);
        for (int i = 0; i < dim; i++)
        {
            float normalised = x[i] * inverse;
            if (bf16) ((ushort*)output)[i] = Bf16.FromFloat(Bf16.ToFloat(((ushort*)weights)[i]) * Bf16.ToFloat(Bf16.FromFloat(normalised)));
            else ((float*)output)[i] = ((float*)weights)[i] * normalised;
        }
    }
}
