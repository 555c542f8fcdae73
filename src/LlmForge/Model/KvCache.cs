namespace LlmForge.Model;

/// <summary>
/// Keys and values of the tokens a model has already seen, one <see cref="LayerKvCache"/> per
/// transformer block, so that generating a token costs one position instead of the whole context.
/// </summary>
public sealed class KvCache(int layers, int capacity) : IDisposable
{
    readonly LayerKvCache[] _layers = Enumerable.Range(0, layers).Select(_ => new LayerKvCache(capacity)).ToArray();

    public LayerKvCache this[int layer] => _layers[layer];

    /// <summary>Tokens held (the position the next token will have).</summary>
    public long Length => _layers[0].Length;

    public int Capacity { get; } = capacity;

    public void Dispose()
    {
        foreach (var layer in _layers) layer.Dispose();
    }
}

/// <summary>One block's cache: buffers of <c>[B, heads, capacity, head_dim]</c> filled from the front.</summary>
public sealed class LayerKvCache(int capacity) : IDisposable
{
    Tensor? _keys, _values;

    public long Length { get; private set; }

    /// <summary>Stores new keys and values and returns views of everything held so far.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values)
    {
        long tokens = keys.shape[2];
        if (Length + tokens > capacity)
            throw new InvalidOperationException($"the KV cache holds {capacity} positions; {Length} + {tokens} do not fit");
        if (_keys is null)
        {
            long[] shape = [keys.shape[0], keys.shape[1], capacity, keys.shape[3]];
            // The buffers outlive the forward pass that creates them: keep them out of its dispose scope.
            _keys = zeros(shape, keys.dtype, keys.device).DetachFromDisposeScope();
            _values = zeros(shape, values.dtype, values.device).DetachFromDisposeScope();
        }
        using (no_grad())
        {
            _keys.narrow(2, Length, tokens).copy_(keys);
            _values!.narrow(2, Length, tokens).copy_(values);
        }
        Length += tokens;
        return (_keys.narrow(2, 0, Length), _values.narrow(2, 0, Length));
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
    }
}
