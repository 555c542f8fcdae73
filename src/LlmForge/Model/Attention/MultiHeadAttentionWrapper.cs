using TorchSharp.Modules;

namespace LlmForge.Model.Attention;

/// <summary>Chapter 3's first multi-head attention: several <see cref="CausalAttention"/> heads, outputs concatenated.</summary>
public sealed class MultiHeadAttentionWrapper : nn.Module<Tensor, Tensor>
{
    public readonly ModuleList<CausalAttention> heads;

    public MultiHeadAttentionWrapper(int dIn, int dOut, double dropout, int numHeads, bool qkvBias = false) : base(nameof(MultiHeadAttentionWrapper))
    {
        heads = nn.ModuleList(Enumerable.Range(0, numHeads).Select(_ => new CausalAttention(dIn, dOut, dropout, qkvBias)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return cat(heads.Select(head => head.forward(x)).ToArray(), dim: -1).MoveToOuterDisposeScope();
    }
}
