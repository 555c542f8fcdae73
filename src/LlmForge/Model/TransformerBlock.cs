using LlmForge.Model.Attention;
using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// Chapter 4's transformer block, pre-norm: x + drop(att(norm1(x))), then the same around the
/// feed-forward network with norm2. The additions are the shortcut connections.
/// </summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    public readonly MultiHeadAttention att;
    public readonly FeedForward ff;
    public readonly LayerNorm norm1, norm2;
#pragma warning disable IDE1006 // the book's names
    readonly Dropout drop_shortcut;
#pragma warning restore IDE1006

    public TransformerBlock(GptConfig config) : base(nameof(TransformerBlock))
    {
        att = new MultiHeadAttention(config.EmbDim, config.EmbDim, config.DropRate, config.NHeads, config.QkvBias);
        ff = new FeedForward(config);
        norm1 = new LayerNorm(config.EmbDim);
        norm2 = new LayerNorm(config.EmbDim);
        drop_shortcut = nn.Dropout(config.DropRate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => forward(x, null);

    public Tensor forward(Tensor x, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        var attended = x + drop_shortcut.forward(att.forward(norm1.forward(x), cache));
        var output = attended + drop_shortcut.forward(ff.forward(norm2.forward(attended)));
        return output.MoveToOuterDisposeScope();
    }
}
