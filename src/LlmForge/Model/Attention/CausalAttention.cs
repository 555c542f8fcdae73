using TorchSharp.Modules;

namespace LlmForge.Model.Attention;

/// <summary>
/// Chapter 3's causal attention over batches <c>[B, T, d_in]</c>: future positions are masked with −∞
/// before the softmax, and dropout is applied to the attention weights while training.
/// </summary>
public sealed class CausalAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names
    public readonly Linear W_query, W_key, W_value;
    readonly Dropout dropout;
#pragma warning restore IDE1006

    public CausalAttention(int dIn, int dOut, double dropout, bool qkvBias = false) : base(nameof(CausalAttention))
    {
        W_query = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_key = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_value = nn.Linear(dIn, dOut, hasBias: qkvBias);
        this.dropout = nn.Dropout(dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long tokens = x.shape[1];
        var keys = W_key.forward(x);
        var queries = W_query.forward(x);
        var values = W_value.forward(x);
        var scores = queries.matmul(keys.transpose(1, 2));
        scores.masked_fill_(CausalMask.Create(tokens, 0, x.device), double.NegativeInfinity);
        var weights = dropout.forward(nn.functional.softmax(scores / Math.Sqrt(keys.shape[^1]), dim: -1));
        return weights.matmul(values).MoveToOuterDisposeScope();
    }
}
