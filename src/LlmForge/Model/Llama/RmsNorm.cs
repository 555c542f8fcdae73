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
        using var scope = NewDisposeScope();
        var input = x.to(ScalarType.Float32);
        var meanSquare = input.pow(2).mean([-1], keepdim: true);
        var normalised = (input * (meanSquare + _eps).rsqrt()).to(x.dtype);
        return (scale * normalised).MoveToOuterDisposeScope();
    }
}
