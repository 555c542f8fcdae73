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
}
