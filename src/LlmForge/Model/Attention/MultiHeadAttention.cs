using TorchSharp.Modules;

namespace LlmForge.Model.Attention;

/// <summary>
/// The efficient multi-head attention of chapter 3 (the one in the GPT model): one projection each
/// for queries, keys and values, split into heads, causal attention per head, heads joined and
/// projected by <c>out_proj</c>. With a <see cref="LayerKvCache"/> the keys and values of earlier
/// tokens are reused instead of recomputed. <see cref="UseFusedAttention"/> picks libtorch's
/// scaled-dot-product attention; the explicit mask-and-softmax path gives the same result.
/// </summary>
public sealed class MultiHeadAttention : nn.Module<Tensor, Tensor>, ILinearSlots
{
#pragma warning disable IDE1006 // the book's names
    // Any module from features to features: a Linear, or a wrapper of one (LoRA).
    nn.Module<Tensor, Tensor> W_query, W_key, W_value, out_proj;
    readonly Dropout dropout;
#pragma warning restore IDE1006
    readonly int _numHeads, _headDim, _dOut;
    readonly double _dropRate;

    public MultiHeadAttention(int dIn, int dOut, double dropout, int numHeads, bool qkvBias = false) : base(nameof(MultiHeadAttention))
    {
        if (dOut % numHeads != 0) throw new ArgumentException($"d_out {dOut} must be divisible by num_heads {numHeads}");
        _numHeads = numHeads;
        _headDim = dOut / numHeads;
        _dOut = dOut;
        _dropRate = dropout;
        W_query = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_key = nn.Linear(dIn, dOut, hasBias: qkvBias);
        W_value = nn.Linear(dIn, dOut, hasBias: qkvBias);
        out_proj = nn.Linear(dOut, dOut);
        this.dropout = nn.Dropout(dropout);
        RegisterComponents();
    }

    public IReadOnlyList<string> LinearSlots { get; } = [nameof(W_query), nameof(W_key), nameof(W_value), nameof(out_proj)];

    public nn.Module<Tensor, Tensor> GetSlot(string name) => name switch
    {
        nameof(W_query) => W_query,
        nameof(W_key) => W_key,
        nameof(W_value) => W_value,
        nameof(out_proj) => out_proj,
        _ => throw new ArgumentException($"no linear slot '{name}' in the attention"),
    };

    public void SetSlot(string name, nn.Module<Tensor, Tensor> module)
    {
        _ = GetSlot(name);
        switch (name)
        {
            case nameof(W_query): W_query = module; break;
            case nameof(W_key): W_key = module; break;
            case nameof(W_value): W_value = module; break;
            default: out_proj = module; break;
        }
        LinearWrapping.Reregister(this, name, module);
    }

    /// <summary>The query, key, value and output projections and the heads, for a decoding step on raw memory (<see cref="GptDecodeStep"/>).</summary>
    internal (nn.Module<Tensor, Tensor> Query, nn.Module<Tensor, Tensor> Key, nn.Module<Tensor, Tensor> Value, nn.Module<Tensor, Tensor> Output, int Heads) Parts =>
        (W_query, W_key, W_value, out_proj, _numHeads);

    /// <summary>Use libtorch's fused attention kernel (default) rather than the explicit mask and softmax.</summary>
    public bool UseFusedAttention { get; set; } = true;

    public override Tensor forward(Tensor x) => forward(x, null);

    public Tensor forward(Tensor x, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), tokens = x.size(1);
        // [B, T, d_out] -> [B, heads, T, head_dim]
        Tensor Heads(Tensor projected) => projected.view(b, tokens, _numHeads, _headDim).transpose(1, 2);
        var queries = Heads(DecodeLinear.Forward(W_query, x));
        var keys = Heads(DecodeLinear.Forward(W_key, x));
        var values = Heads(DecodeLinear.Forward(W_value, x));
        Tensor context;
        // Several sequences, one token each (KvCache.Rows): each row attends to its own past.
        if (cache is { IsRows: true }) context = cache.AttendRows(queries, keys, values, Attend);
        else
        {
            if (cache != null) (keys, values) = cache.Append(keys, values);
            context = Attend(queries, keys, values);
        }
        var joined = context.transpose(1, 2).contiguous().view(b, tokens, _dOut);
        return DecodeLinear.Forward(out_proj, joined).MoveToOuterDisposeScope();
    }

    /// <summary>Queries attending to all the keys held: the last of them are the queries' own, those before the cache's.</summary>
    Tensor Attend(Tensor queries, Tensor keys, Tensor values)
    {
        long past = keys.size(2) - queries.size(2);
        return UseFusedAttention ? Fused(queries, keys, values, past) : Explicit(queries, keys, values, past);
    }

    Tensor Explicit(Tensor queries, Tensor keys, Tensor values, long past)
    {
        var scores = queries.matmul(keys.transpose(2, 3));
        scores.masked_fill_(CausalMask.Create(queries.shape[2], past, queries.device), double.NegativeInfinity);
        var weights = nn.functional.softmax(scores / Math.Sqrt(_headDim), dim: -1);
        return dropout.forward(weights).matmul(values);
    }

    Tensor Fused(Tensor queries, Tensor keys, Tensor values, long past)
    {
        double p = training ? _dropRate : 0.0;
        long tokens = queries.size(2);
        if (past == 0) return nn.functional.scaled_dot_product_attention(queries, keys, values, p: p, is_casual: true);
        // One new token may look at every cached key; several need the mask offset by the cache.
        if (tokens == 1)
            return (p == 0 ? DecodeAttention.TryAttend(queries, keys, values) : null)
                ?? nn.functional.scaled_dot_product_attention(queries, keys, values, p: p);
        var allowed = CausalMask.Create(tokens, past, queries.device).logical_not();
        return nn.functional.scaled_dot_product_attention(queries, keys, values, allowed, p);
    }
}
