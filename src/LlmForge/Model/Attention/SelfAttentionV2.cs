using TorchSharp.Modules;

namespace LlmForge.Model.Attention;

/// <summary>Self-attention with <c>Linear</c> layers for the projections (chapter 3): same math as V1, better initialisation.</summary>
public sealed class SelfAttentionV2 : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names
    public readonly Linear W_query, W_key, W_value;
#pragma warning restore IDE1006

    public SelfAttentionV2(int dIn, int dOut, bool qkvBias = false) : base(nameof(SelfAttentionV2))
    {
        W_query = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_key = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_value = nn.Linear(dIn, dOut, hasBias: qkvBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var keys = W_key.forward(x);
        var queries = W_query.forward(x);
        var values = W_value.forward(x);
        var scores = queries.matmul(keys.T);
        var weights = nn.functional.softmax(scores / Math.Sqrt(keys.shape[^1]), dim: -1);
        return weights.matmul(values).MoveToOuterDisposeScope();
    }
}
