namespace LlmForge.Generation;

/// <summary>
/// Generations decoded together, such as a server's concurrent requests. Every <see cref="Step"/> feeds the last token
/// of every running sequence as one row of a single forward pass (<see cref="KvCache.Rows"/>), so the weights, which a
/// decoded token spends most of its time reading, are read once a step for all of them. A sequence that joins
/// (<see cref="Start"/>) first has its prompt run on its own, <paramref name="prefillChunk"/> tokens a step, so that
/// a long prompt holds the running sequences up for one chunk at a time rather than for all of it. Sequences join and
/// leave between steps. Each keeps its own cache, sampler and options, and gets the ids <see cref="TextGenerator"/>
/// gives it alone (batched products and a prompt in chunks sum in another order, so to float rounding).
/// </summary>
public sealed class SequenceBatch(ILanguageModel model, int maxSequences, int prefillChunk = 64) : IDisposable
{
    /// <summary>A running generation: what it needs for its next step, and whom to tell.</summary>
    sealed class Sequence(KvCache cache, Sampler sampler, GenerationOptions options, Func<int, bool> onToken, Action<Exception?> onEnd)
    {
        public KvCache Cache => cache;
        public Sampler Sampler => sampler;
        public int Last;
        int _produced;

        /// <summary>The prompt, and how much of it the cache holds so far.</summary>
        public required int[] Prompt { get; init; }
        public int Fed;

        /// <summary>Whether its owner no longer wants it (asked between prompt chunks; after that, <c>onToken</c> answers).</summary>
        public Func<bool>? Cancelled { get; init; }

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
    readonly int _prefillChunk = prefillChunk >= 1 ? prefillChunk : throw new ArgumentOutOfRangeException(nameof(prefillChunk), "at least one token a step");
    readonly int _threads = get_num_threads();

    /// <summary>
    /// The weights in panel order, read by every decoding step, one sequence or several, so that a sequence's tokens do
    /// not depend on what else runs beside it: made on the first step, freed with the batch (none for one sequence at a time).
    /// </summary>
    readonly DecodePanels? _panels = maxSequences > 1 ? new() : null;

    /// <summary>Sequences whose prompt is still being run, first come first.</summary>
    readonly Queue<Sequence> _prefilling = new();

    /// <summary>Sequences taken: running, or with their prompt still being run.</summary>
    public int Count => _running.Count + _prefilling.Count;

    /// <summary>Whether another sequence would exceed the batch's size.</summary>
    public bool IsFull => Count >= maxSequences;

    /// <summary>
    /// Whether a generation can run here: with the KV cache, on the CPU (where <see cref="DecodeLinear"/> reads the
    /// weights once for all rows), and with prompt and new tokens inside the context (beyond it <see cref="TextGenerator"/>
    /// recomputes a sliding window, which a shared step cannot).
    /// </summary>
    public bool CanTake(IReadOnlyList<int> promptIds, GenerationOptions options) =>
        options.UseKvCache && model.Device.type == DeviceType.CPU && (long)promptIds.Count + options.MaxNewTokens <= model.ContextLength;

    /// <summary>
    /// Takes a generation: the next steps run its prompt, then pick its tokens. <paramref name="onToken"/> gets each new
    /// id and returns whether to go on; <paramref name="onEnd"/> is called once when the sequence ends (with the error if
    /// it failed), on the thread that calls <see cref="Start"/> or <see cref="Step"/>. <paramref name="cancelled"/>, asked
    /// before each chunk of the prompt, ends a sequence whose owner left before its first token
    /// (<see cref="OperationCanceledException"/>).
    /// </summary>
    /// <exception cref="BadInputException">an option is out of range, or the generation cannot fit in memory (nothing was started).</exception>
    public void Start(IReadOnlyList<int> promptIds, GenerationOptions options, Func<int, bool> onToken, Action<Exception?> onEnd, Func<bool>? cancelled = null)
    {
        int positions = TextGenerator.Check(model, promptIds, options);
        if (!CanTake(promptIds, options)) throw new ArgumentException("this generation cannot join a batch (see CanTake)");
        if (options.MaxNewTokens == 0)
        {
            onEnd(null);
            return;
        }
        model.Module.eval();
        _prefilling.Enqueue(new Sequence(model.NewKvCache(positions), new Sampler(options), options, onToken, onEnd) { Prompt = [.. promptIds], Cancelled = cancelled });
    }

    /// <summary>
    /// Up to <c>prefillChunk</c> tokens of the waiting prompts, first come first (several short ones, or a chunk of a
    /// long one; each its first token when it is done), then one token for every running sequence. A prompt is cut
    /// every <c>prefillChunk</c> tokens from its start, whatever else is waiting: its products then have the same shapes,
    /// and so the same roundings, as when it runs alone, and a chunk that does not fit what is left of a step waits for
    /// the next.
    /// </summary>
    public void Step()
    {
        for (int budget = _prefillChunk; _prefilling.Count > 0;)
        {
            var next = _prefilling.Peek();
            int take = Math.Min(_prefillChunk, next.Prompt.Length - next.Fed);
            if (take > budget) break;
            budget -= Prefill(next, take);
        }
        if (_running.Count > 0) Decode();
    }

    /// <summary>
    /// The next <paramref name="take"/> tokens of <paramref name="sequence"/>'s prompt into its cache, and after the
    /// last its first token; returns the tokens run (none for a sequence whose owner left).
    /// </summary>
    int Prefill(Sequence sequence, int take)
    {
        if (sequence.Cancelled?.Invoke() == true)
        {
            _prefilling.Dequeue();
            sequence.End(new OperationCanceledException("the generation was cancelled before its first token"));
            return 0;
        }
        int first = -1;
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var ids = sequence.Prompt.Skip(sequence.Fed).Take(take).Select(i => (long)i).ToArray();
            var logits = model.forward(tensor(ids, [1, take], device: model.Device), sequence.Cache);
            sequence.Fed += take;
            if (sequence.Fed == sequence.Prompt.Length) first = (int)sequence.Sampler.Next(logits[.., -1, ..]).item<long>();
        }
        catch (Exception e)
        {
            _prefilling.Dequeue();
            sequence.End(e);
            return take;
        }
        if (first >= 0)
        {
            _prefilling.Dequeue();
            Deliver(sequence, first);
        }
        return take;
    }

    /// <summary>One token for every running sequence, from one forward pass.</summary>
    void Decode()
    {
        var rows = _running.ToArray();
        var next = new int?[rows.Length];
        var failed = new Exception?[rows.Length];
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // As in TextGenerator: the products on every thread, libtorch's small operations on one.
            using var threads = DecodeLinear.OneThreadAround(_threads, _panels);
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

    /// <summary>Ends every sequence taken as cancelled (the batch is going away).</summary>
    public void Dispose()
    {
        var left = _prefilling.Concat(_running).ToArray();
        _prefilling.Clear();
        _running.Clear();
        foreach (var sequence in left) sequence.End(new OperationCanceledException("the generation was stopped"));
        _panels?.Dispose();
    }
}
