using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// The token embedding: row <c>id</c> of <c>weight</c> <c>[vocab, dim]</c> for each token id, as
/// <c>nn.Embedding</c> computes it. A module of its own so that its weight can be made in any dtype without
/// the initial draw <c>nn.Embedding</c> always makes (see <see cref="LayerFactory"/>).
/// </summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;

    public TokenEmbedding(Parameter weight) : base(nameof(TokenEmbedding))
    {
        this.weight = weight;
        RegisterComponents();
    }

    /// <summary><c>[..., dim]</c> for ids of any shape.</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        long[] shape = [.. ids.shape, weight.size(1)];
        return weight.index_select(0, ids.flatten()).view(shape).MoveToOuterDisposeScope();
    }
}
