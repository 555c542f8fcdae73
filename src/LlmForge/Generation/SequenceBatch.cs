namespace LlmForge.Generation;

/// <summary>
/// Generations decoded together, such as a server's concurrent requests. Each sequence's prompt runs on its own
/// (<see cref="Start"/>); then every <see cref="Step"/> feeds the last token of every running sequence as one row of a
/// single forward pass (<see cref="KvCache.Rows"/>), so the weights, which a decoded token spends most of its time
/// reading, are read once a step for all of them. Sequences join and leave between steps. Each keeps its own cache,
/// sampler and options, and gets the ids <see cref="TextGenerator"/> gives it alone (batched products sum in another
/// order, so to float rounding).
/// </summary>
public sealed class SequenceBatch(ILanguageModel model, int maxSequences) : IDisposable
{
    /// <summary>A running generation: what it needs for its next step, and whom to tell.</summary>
    sealed class Sequence(KvCache cache, Sampler sampler, GenerationOptions options, Func<int, bool> onToken, Action<Exception?> onEnd)
    {
        public KvCache Cache => cache;
        public Sampler Sampler => sampler;
        public int Last;
        int _produced;

        /// <summary>Hands <paramref name="id"/> over; false when the sequence is done (a stop id, its length, or its owner said so).</summary>
        public bool Continue(int id)
        {
            _produced++;
            Last = id;
            return onToken(id) && !options.IsStop(id) && _produced < options.MaxNewTokens;
        }

        public void End(Exception? error)
        {
            cache.Dispose();
            sampler.Dispose();
            onEnd(error);
        }
    }

    readonly List<Sequence> _running = [];
    readonly int _threads = get_num_threads();

    /// <summary>Sequences running.</summary>
    public int Count => _running.Count;

    /// <summary>Whether another sequence would exceed the batch's size.</summary>
    public bool IsFull => _running.Count >= maxSequences;

    /// <summary>
    /// Whether a generation can run here: with the KV cache, on the CPU (where <see cref="DecodeLinear"/> reads the
    /// weights once for all rows), and with prompt and new tokens inside the context (beyond it <see cref="TextGenerator"/>
    /// recomputes a sliding window, which a shared step cannot).
    /// </summary>
    public bool CanTake(IReadOnlyList<int> promptIds, GenerationOptions options) =>
        options.UseKvCache && model.Device.type == DeviceType.CPU && (long)promptIds.Count + options.MaxNewTokens <= model.ContextLength;

    /// <summary>
    /// Runs the prompt and picks the first token. <paramref name="onToken"/> gets each new id and returns whether to
    /// go on; <paramref name="onEnd"/> is called once when the sequence ends (with the error if it failed), on the
    /// thread that calls <see cref="Start"/> or <see cref="Step"/>.
    /// </summary>
    /// <exception cref="BadInputException">an option is out of range, or the generation cannot fit in memory (nothing was started).</exception>
    public void Start(IReadOnlyList<int> promptIds, GenerationOptions options, Func<int, bool> onToken, Action<Exception?> onEnd)
    {
        int positions = TextGenerator.Check(model, promptIds, options);
        if (!CanTake(promptIds, options)) throw new ArgumentException("this generation cannot join a batch (see CanTake)");
        if (options.MaxNewTokens == 0)
        {
            onEnd(null);
            return;
        }
        model.Module.eval();
        var sequence = new Sequence(model.NewKvCache(positions), new Sampler(options), options, onToken, onEnd);
        int first;
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var logits = model.forward(tensor(promptIds.Select(i => (long)i).ToArray(), [1, promptIds.Count], device: model.Device), sequence.Cache);
            first = (int)sequence.Sampler.Next(logits[.., -1, ..]).item<long>();
        }
        catch (Exception e)
        {
            sequence.End(e);
            return;
        }
        Deliver(sequence, first);
    }

    /// <summary>One token for every running sequence, from one forward pass.</summary>
    public void Step()
    {
        if (_running.Count == 0) return;
        var rows = _running.ToArray();
        var next = new int?[rows.Length];
        var failed = new Exception?[rows.Length];
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // As in TextGenerator: the products on every thread, libtorch's small operations on one.
            using var threads = DecodeLinear.OneThreadAround(_threads);
            using var step = KvCache.Rows(rows.Select(s => s.Cache).ToArray());
            var ids = tensor(rows.Select(s => (long)s.Last).ToArray(), [rows.Length, 1], device: model.Device);
            var last = model.forward(ids, step)[.., -1, ..];
            for (int b = 0; b < rows.Length; b++)
            {
                // A row whose logits are not finite fails alone.
                try { next[b] = (int)rows[b].Sampler.Next(last.narrow(0, b, 1)).item<long>(); }
                catch (NonFiniteLogitsException e) { failed[b] = e; }
            }
        }
        catch (Exception e)
        {
            // The pass itself failed: no sequence can go on.
            _running.Clear();
            foreach (var sequence in rows) sequence.End(e);
            return;
        }
        for (int b = 0; b < rows.Length; b++)
        {
            _running.Remove(rows[b]);
            if (failed[b] is { } error) rows[b].End(error);
            else Deliver(rows[b], next[b]!.Value);
        }
    }

    /// <summary>Gives a sequence its new id and keeps it running unless it is done.</summary>
    void Deliver(Sequence sequence, int id)
    {
        bool more;
        try { more = sequence.Continue(id); }
        catch (Exception e)
        {
            sequence.End(e);
            return;
        }
        if (more) _running.Add(sequence);
        else sequence.End(null);
    }

    /// <summary>Ends every running sequence as cancelled (the batch is going away).</summary>
    public void Dispose()
    {
        var left = _running.ToArray();
        _running.Clear();
        foreach (var sequence in left) sequence.End(new OperationCanceledException("the generation was stopped"));
    }
}
