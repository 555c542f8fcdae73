using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// Appendix E's low-rank adapter: <c>(alpha / rank) · (x · A · B)</c>, with <c>A [in, rank]</c> drawn
/// Kaiming-uniform (a = √5, as <c>torch.nn.init.kaiming_uniform_</c> with the book's shapes) and
/// <c>B [rank, out]</c> zeros, so a new adapter adds nothing until it trains.
/// </summary>
/// <remarks>
/// The output is scaled by alpha / rank (the rule, and the LoRA paper's), not by alpha alone as
/// the book's first printing has it: the same alpha then means the same strength at any rank.
/// </remarks>
public sealed class LoRALayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names: the parameters are X.lora.A and X.lora.B
    public readonly Parameter A, B;
#pragma warning restore IDE1006

    /// <param name="device">where the adapter lives (the wrapped layer's); it is drawn on the CPU first, from torch's seeded generator.</param>
    public LoRALayer(int inDim, int outDim, int rank, double alpha, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(LoRALayer))
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "the LoRA rank must be at least 1");
        if (!double.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "the LoRA alpha must be a finite number");
        Rank = rank;
        Alpha = alpha;
        // torch's fan_in of a 2-D tensor is its second size: here the rank, so the bound is
        // sqrt(6 / ((1 + a²) · rank)) = 1 / sqrt(rank). Drawn on the CPU in fp32 so that a seed gives
        // the same adapter on any device and in any dtype.
        A = new Parameter(empty(inDim, rank, dtype: dtype, device: device ?? CPU));
        B = new Parameter(zeros(rank, outDim, dtype: dtype, device: device ?? CPU));
        using (no_grad())
        using (var draw = empty(inDim, rank))
        {
            nn.init.kaiming_uniform_(draw, a: Math.Sqrt(5));
            A.copy_(draw);
        }
        RegisterComponents();
    }

    public int Rank { get; }

    public double Alpha { get; }

    /// <summary>What <c>x · A · B</c> is multiplied by.</summary>
    public double Scale => Alpha / Rank;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return x.matmul(A).matmul(B).mul(Scale).MoveToOuterDisposeScope();
    }

    /// <summary><c>(alpha / rank) · (A · B)ᵀ</c>, shaped <c>[out, in]</c> as a linear layer's weight, to fold into it.</summary>
    public Tensor WeightDelta()
    {
        using var scope = NewDisposeScope();
        return A.matmul(B).t().mul(Scale).MoveToOuterDisposeScope();
    }
}
