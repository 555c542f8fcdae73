using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// Chapter 4's layer normalisation: each vector is shifted to mean 0 and scaled to variance 1
/// (biased variance, eps 1e-5), then multiplied by <c>scale</c> and offset by <c>shift</c>, both trained.
/// </summary>
public sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
    public const double Eps = 1e-5;
    public readonly Parameter scale, shift;
    readonly long[] _shape;

    public LayerNorm(int embDim) : base(nameof(LayerNorm))
    {
        scale = new Parameter(ones(embDim));
        shift = new Parameter(zeros(embDim));
        _shape = [embDim];
        RegisterComponents();
    }

    // libtorch's fused kernel computes exactly (x - mean) / sqrt(var + eps) * scale + shift.
    public override Tensor forward(Tensor x) => nn.functional.layer_norm(x, _shape, scale, shift, Eps);

    /// <summary>
    /// One row normalised as <see cref="forward"/> does, in fp32 where the numbers lie (a decoding step, <see cref="GptDecodeStep"/>):
    /// the mean, then the mean square of the deviations, then (x - mean) / sqrt(var + eps) · scale + shift. libtorch sums
    /// in another order, so the results agree to float rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static void Normalise(ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y)
    {
        int n = x.Length, i;
        var sum = Vector256<float>.Zero;
        for (i = 0; i + 8 <= n; i += 8) sum += Vector256.Create(x.Slice(i, 8));
        float mean = Vector256.Sum(sum);
        for (; i < n; i++) mean += x[i];
        mean /= n;
        var center = Vector256.Create(mean);
        var squares = Vector256<float>.Zero;
        for (i = 0; i + 8 <= n; i += 8)
        {
            var deviation = Vector256.Create(x.Slice(i, 8)) - center;
            squares = Vector256.FusedMultiplyAdd(deviation, deviation, squares);
        }
        float variance = Vector256.Sum(squares);
        for (; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
        float inverse = 1 / MathF.Sqrt(variance / n + (float)Eps);
        for (i = 0; i < n; i++) y[i] = (x[i] - mean) * inverse * scale[i] + shift[i];
    }
}
