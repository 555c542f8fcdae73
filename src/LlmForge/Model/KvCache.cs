namespace LlmForge.Model;

/// <summary>
/// Keys and values of the tokens a model has already seen, one <see cref="LayerKvCache"/> per
/// transformer block, so that generating a token costs one position instead of the whole context.
/// </summary>
/// <remarks>
/// A cache made by <see cref="Rows"/> is a decoding step of several sequences at once: row b of the ids continues
/// sequence b's own cache, whatever its length, so sequences that started at different times share each step's
/// weight reads (a server's concurrent requests).
/// </remarks>
public sealed class KvCache : IDisposable
{
    readonly LayerKvCache[] _layers;
    readonly KvCache[]? _rows;

    public KvCache(int layers, int capacity)
    {
        _layers = Enumerable.Range(0, layers).Select(_ => new LayerKvCache(capacity)).ToArray();
        Capacity = capacity;
    }

    KvCache(KvCache[] rows)
    {
        _rows = rows;
        _layers = Enumerable.Range(0, rows[0]._layers.Length).Select(i => new LayerKvCache(rows.Select(r => r[i]).ToArray())).ToArray();
        Capacity = rows.Min(r => r.Capacity);
    }

    /// <summary>
    /// One decoding step of several sequences: row b of the ids (one token each) continues <paramref name="sequences"/>[b].
    /// The view owns nothing; each sequence's cache stays its owner's to dispose.
    /// </summary>
    public static KvCache Rows(IReadOnlyList<KvCache> sequences)
    {
        if (sequences.Count == 0) throw new ArgumentException("a decoding step needs at least one sequence");
        if (sequences.Any(s => s.IsRows)) throw new ArgumentException("a sequence of a decoding step must have a cache of its own");
        if (sequences.Select(s => s._layers.Length).Distinct().Count() != 1) throw new ArgumentException("the sequences' caches are for different models");
        return new KvCache([.. sequences]);
    }

    public LayerKvCache this[int layer] => _layers[layer];

    /// <summary>Whether this is a decoding step of several sequences (<see cref="Rows"/>).</summary>
    public bool IsRows => _rows != null;

    /// <summary>Tokens held (the position the next token will have); for <see cref="Rows"/>, the longest sequence's.</summary>
    public long Length => _rows?.Max(r => r.Length) ?? _layers[0].Length;

    public int Capacity { get; }

    /// <summary>Throws unless <paramref name="tokens"/> new tokens after <paramref name="cache"/> fit in <paramref name="contextLength"/> positions.</summary>
    public static void RequireFits(KvCache? cache, long tokens, int contextLength)
    {
        if (cache is { IsRows: true } && tokens != 1)
            throw new ArgumentException($"a decoding step of several sequences feeds one token a sequence, not {tokens}");
        long last = (cache?.Length ?? 0) + tokens;
        if (last > contextLength) throw new ArgumentException($"{last} positions exceed the model's context length of {contextLength}");
    }

    /// <summary>
    /// The positions of <paramref name="tokens"/> new tokens after <paramref name="cache"/>: <c>[T]</c> from its
    /// <see cref="Length"/> (0 without one), or for <see cref="Rows"/> (one token a row) <c>[B, 1]</c>, each row's own.
    /// </summary>
    public static Tensor Positions(KvCache? cache, long tokens, int contextLength, Device device)
    {
        RequireFits(cache, tokens, contextLength);
        if (cache?._rows is { } rows) return tensor(rows.Select(r => r.Length).ToArray(), [rows.Length, 1], device: device);
        long past = cache?.Length ?? 0;
        return arange(past, past + tokens, dtype: ScalarType.Int64, device: device);
    }

    /// <summary>Frees the buffers of a cache of its own; a <see cref="Rows"/> view frees nothing.</summary>
    public void Dispose()
    {
        if (_rows != null) return;
        foreach (var layer in _layers) layer.Dispose();
    }
}

/// <summary>One block's cache: buffers of <c>[B, heads, capacity, head_dim]</c> filled from the front.</summary>
public sealed class LayerKvCache : IDisposable
{
    readonly int _capacity;
    readonly LayerKvCache[]? _rows;
    Tensor? _keys, _values;

    public LayerKvCache(int capacity) => _capacity = capacity;

    internal LayerKvCache(LayerKvCache[] rows) : this(rows.Min(r => r._capacity)) => _rows = rows;

    public long Length { get; private set; }

    /// <summary>Whether each row continues a cache of its own (<see cref="KvCache.Rows"/>).</summary>
    public bool IsRows => _rows != null;

    /// <summary>Stores new keys and values and returns views of everything held so far.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values)
    {
        if (_rows != null) throw new InvalidOperationException("a decoding step of several sequences attends row by row (AttendRows)");
        long tokens = keys.size(2);
        RequireRoom(tokens);
        if (_keys is null) Allocate([keys.shape[0], keys.shape[1], _capacity, keys.shape[3]], keys.dtype, keys.device);
        using (no_grad())
        {
            _keys.narrow(2, Length, tokens).copy_(keys);
            _values!.narrow(2, Length, tokens).copy_(values);
        }
        Length += tokens;
        return (_keys.narrow(2, 0, Length), _values.narrow(2, 0, Length));
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_keys), nameof(_values))]
    void Allocate(long[] shape, ScalarType dtype, Device device)
    {
        // The buffers outlive the forward pass that creates them: keep them out of its dispose scope.
        _keys = zeros(shape, dtype, device).DetachFromDisposeScope();
        _values = zeros(shape, dtype, device).DetachFromDisposeScope();
    }

    /// <summary>Throws unless <paramref name="tokens"/> more positions fit.</summary>
    internal void RequireRoom(long tokens)
    {
        if (Length + tokens > _capacity)
            throw new InvalidOperationException($"the KV cache holds {_capacity} positions; {Length} + {tokens} do not fit");
    }

    /// <summary>
    /// For a decoding step that writes its keys and values in place (<see cref="GptDecodeStep"/>): the CPU buffers,
    /// <c>[batch, heads, capacity, dim]</c> of <paramref name="dtype"/>, made here on first use; null where those held
    /// have another shape or dtype (the step then leaves the cache to <see cref="Append"/>, which says what is wrong).
    /// The writer counts what it wrote with <see cref="Advance"/>.
    /// </summary>
    internal (Tensor Keys, Tensor Values)? Buffers(long batch, long heads, long dim, ScalarType dtype)
    {
        if (_rows != null) throw new InvalidOperationException("a decoding step of several sequences writes to each sequence's own cache");
        if (_keys is null) Allocate([batch, heads, _capacity, dim], dtype, CPU);
        var keys = _keys;
        bool fits = keys.device_type == DeviceType.CPU && keys.dtype == dtype && keys.size(0) == batch && keys.size(1) == heads && keys.size(3) == dim;
        return fits ? (keys, _values!) : null;
    }

    /// <summary>Counts <paramref name="tokens"/> positions written into <see cref="Buffers"/>.</summary>
    internal void Advance(long tokens)
    {
        RequireRoom(tokens);
        Length += tokens;
    }

    /// <summary>The sequences' own caches of a step of several (<see cref="KvCache.Rows"/>); null for a cache of its own.</summary>
    internal IReadOnlyList<LayerKvCache>? Rows => _rows;

    /// <summary>
    /// For <see cref="KvCache.Rows"/>: row b's new keys and values (<c>[B, heads, 1, head_dim]</c>) go to sequence b's
    /// cache, and <paramref name="attend"/> (queries, all of that sequence's keys, values) gives its output; the rows'
    /// outputs are joined again. Attention is the one part of a step that cannot be shared: each sequence has its own past.
    /// </summary>
    public Tensor AttendRows(Tensor queries, Tensor keys, Tensor values, Func<Tensor, Tensor, Tensor, Tensor> attend)
    {
        if (_rows == null) throw new InvalidOperationException("AttendRows is for a decoding step of several sequences");
        if (queries.size(0) != _rows.Length)
            throw new ArgumentException($"{queries.shape[0]} rows fed to a decoding step of {_rows.Length} sequences");
        var outputs = new Tensor[_rows.Length];
        for (int b = 0; b < _rows.Length; b++)
        {
            var (cachedKeys, cachedValues) = _rows[b].Append(keys.narrow(0, b, 1), values.narrow(0, b, 1));
            outputs[b] = attend(queries.narrow(0, b, 1), cachedKeys, cachedValues);
        }
        return cat(outputs, 0);
    }

    /// <summary>Each row's length before this step (<see cref="KvCache.Rows"/>).</summary>
    public long[] RowLengths => _rows?.Select(r => r.Length).ToArray() ?? [Length];

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
    }
}
