using LlmForge.Model.Attention;

namespace LlmForge.Model.Llama;

/// <summary>
/// Grouped-query attention (Ainslie et al., 2023), the bonus chapters' replacement for multi-head attention:
/// <c>num_heads</c> query heads share <c>num_kv_groups</c> key/value heads, a group of query heads to each,
/// which shrinks the key/value projections and the KV cache by the group size. Queries and keys are rotated
/// by <see cref="RotaryEmbedding"/> (after Qwen3's per-head RMSNorm, <c>q_norm</c> and <c>k_norm</c>, when
/// the config asks for it); there are no biases and no dropout. The cache holds the key/value heads only.
/// <see cref="UseFusedAttention"/> picks libtorch's scaled-dot-product attention; the explicit path (the
/// book's: keys and values repeated per group, mask, softmax) gives the same result.
/// </summary>
public sealed class GroupedQueryAttention : nn.Module<Tensor, Tensor>, ILinearSlots
{
#pragma warning disable IDE1006 // the book's names
    // Any module from features to features: a Linear, or a wrapper of one (LoRA).
    nn.Module<Tensor, Tensor> W_query, W_key, W_value, out_proj;
    public readonly RmsNorm? q_norm, k_norm;
#pragma warning restore IDE1006
    readonly int _numHeads, _numKvGroups, _headDim, _groupSize;
    readonly RotaryEmbedding _rope; // shared by every block, owned by the model

    public GroupedQueryAttention(int dIn, int numHeads, int numKvGroups, int headDim, bool qkNorm, double normEps,
        RotaryEmbedding rope, LayerFactory layers) : base(nameof(GroupedQueryAttention))
    {
        if (numHeads % numKvGroups != 0) throw new ArgumentException($"num_heads {numHeads} must be a multiple of num_kv_groups {numKvGroups}");
        _numHeads = numHeads;
        _numKvGroups = numKvGroups;
        _headDim = headDim;
        _groupSize = numHeads / numKvGroups;
        _rope = rope;
        W_query = layers.Linear(dIn, numHeads * headDim);
        W_key = layers.Linear(dIn, numKvGroups * headDim);
        W_value = layers.Linear(dIn, numKvGroups * headDim);
        out_proj = layers.Linear(numHeads * headDim, dIn);
        if (qkNorm)
        {
            q_norm = new RmsNorm(headDim, normEps, layers.DType);
            k_norm = new RmsNorm(headDim, normEps, layers.DType);
        }
        RegisterComponents();
    }

    /// <summary>The projections, query and key norms and head counts, for a decoding step on raw memory (<see cref="LlamaDecodeStep"/>).</summary>
    internal (nn.Module<Tensor, Tensor> Query, nn.Module<Tensor, Tensor> Key, nn.Module<Tensor, Tensor> Value, nn.Module<Tensor, Tensor> Output,
        RmsNorm? QueryNorm, RmsNorm? KeyNorm, int Heads, int KvGroups, int HeadDim) Parts =>
        (W_query, W_key, W_value, out_proj, q_norm, k_norm, _numHeads, _numKvGroups, _headDim);

    /// <summary>Use libtorch's fused attention kernel (default) rather than the explicit mask and softmax.</summary>
    public bool UseFusedAttention { get; set; } = true;

    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>Attention over <paramref name="x"/> <c>[B, T, d_in]</c>, whose tokens continue those in <paramref name="cache"/>.</summary>
    public Tensor forward(Tensor x, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        long b = x.size(0), tokens = x.size(1);
        var queries = DecodeLinear.Forward(W_query, x).view(b, tokens, _numHeads, _headDim);
        var keys = DecodeLinear.Forward(W_key, x).view(b, tokens, _numKvGroups, _headDim);
        var values = DecodeLinear.Forward(W_value, x).view(b, tokens, _numKvGroups, _headDim);
        if (q_norm != null) queries = q_norm.forward(queries);
        if (k_norm != null) keys = k_norm.forward(keys);
        // [B, T, heads, head_dim] -> [B, heads, T, head_dim]
        queries = queries.transpose(1, 2);
        keys = keys.transpose(1, 2);
        values = values.transpose(1, 2);

        Tensor context;
        if (cache is { IsRows: true })
        {
            // Several sequences, one token each, every row at its own position and with its own past.
            var starts = cache.RowLengths;
            context = cache.AttendRows(_rope.Apply(queries, starts), _rope.Apply(keys, starts), values, Attend);
        }
        else
        {
            long past = cache?.Length ?? 0;
            queries = _rope.Apply(queries, past);
            keys = _rope.Apply(keys, past);
            if (cache != null) (keys, values) = cache.Append(keys, values);
            context = Attend(queries, keys, values);
        }
        var joined = context.transpose(1, 2).reshape(b, tokens, _numHeads * _headDim);
        return DecodeLinear.Forward(out_proj, joined).MoveToOuterDisposeScope();
    }

    /// <summary>Queries attending to all the keys held: the last of them are the queries' own, those before the cache's.</summary>
    Tensor Attend(Tensor queries, Tensor keys, Tensor values)
    {
        long past = keys.size(2) - queries.size(2);
        return UseFusedAttention ? Fused(queries, keys, values, past) : Explicit(queries, keys, values, past);
    }

    /// <summary>The book's path: each key/value head repeated for its group, causal mask, softmax (in fp32), weighted values.</summary>
    Tensor Explicit(Tensor queries, Tensor keys, Tensor values, long past)
    {
        keys = Repeated(keys);
        values = Repeated(values);
        var scores = queries.matmul(keys.transpose(2, 3));
        scores.masked_fill_(CausalMask.Create(queries.shape[2], past, queries.device), double.NegativeInfinity);
        var weights = nn.functional.softmax(scores / Math.Sqrt(_headDim), dim: -1, dtype: ScalarType.Float32).to(queries.dtype);
        return weights.matmul(values);
    }

    Tensor Fused(Tensor queries, Tensor keys, Tensor values, long past)
    {
        long b = queries.size(0), tokens = queries.size(2);
        if (tokens == 1)
        {
            // One new token sees every cached key, so a group's query heads can stand as that many queries to
            // their shared key/value head: no copy of the cache per group, and no mask.
            var grouped = queries.reshape(b, _numKvGroups, _groupSize, _headDim);
            var attended = DecodeAttention.TryAttend(grouped, keys, values) ?? nn.functional.scaled_dot_product_attention(grouped, keys, values);
            return attended.reshape(b, _numHeads, 1, _headDim);
        }
        keys = Repeated(keys);
        values = Repeated(values);
        if (past == 0) return nn.functional.scaled_dot_product_attention(queries, keys, values, is_casual: true);
        // Several new tokens after a cache: the mask offset by what the cache holds.
        var allowed = CausalMask.Create(tokens, past, queries.device).logical_not();
        return nn.functional.scaled_dot_product_attention(queries, keys, values, allowed);
    }

    /// <summary><c>[B, kv_groups, S, head_dim]</c> -> <c>[B, heads, S, head_dim]</c>: query head h uses key/value head h / group_size.</summary>
    Tensor Repeated(Tensor kv) => _groupSize == 1 ? kv : kv.repeat_interleave(_groupSize, dim: 1);

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
}
