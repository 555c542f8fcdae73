using TorchSharp.Modules;

namespace LlmForge.Model.Attention;

/// <summary>
/// Chapter 3's first trainable self-attention: three weight matrices as plain parameters,
/// scores <c>q·kᵀ</c> scaled by 1/√d_out, softmax, then a weighted sum of the values. Input <c>[T, d_in]</c>.
/// </summary>
public sealed class SelfAttentionV1 : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names
    public readonly Parameter W_query, W_key, W_value;
#pragma warning restore IDE1006

    public SelfAttentionV1(int dIn, int dOut) : base(nameof(SelfAttentionV1))
    {
        W_query = new Parameter(rand(dIn, dOut));
        W_key = new Parameter(rand(dIn, dOut));
        W_value = new Parameter(rand(dIn, dOut));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var keys = x.matmul(W_key);
        var queries = x.matmul(W_query);
        var values = x.matmul(W_value);
        var scores = queries.matmul(keys.T);
        var weights = nn.functional.softmax(scores / Math.Sqrt(keys.shape[^1]), dim: -1);
        return weights.matmul(values).MoveToOuterDisposeScope();
    }
}
