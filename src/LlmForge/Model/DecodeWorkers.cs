namespace LlmForge.Model;

/// <summary>
/// Threads that share <see cref="DecodeLinear"/>'s products with the calling thread during generation. A decoded
/// token is dozens of products of 0.1-0.5 ms each: waking a pool thread for each (<c>Parallel.For</c>) costs about
/// what splitting gains, so these helpers stay awake, spinning, for a short while after each product and take the
/// next one at once; after that while they sleep until the next product wakes them. Work is handed out a chunk at
/// a time from a shared counter, so a slower thread simply takes fewer chunks.
/// </summary>
static class DecodeWorkers
{
    /// <summary>How long a helper spins for the next product before it sleeps: longer than the gap between two products of a token.</summary>
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000; // 1 ms

    static readonly object Gate = new();
    static readonly SemaphoreSlim Wake = new(0);
    static readonly List<Thread> Helpers = [];
    static Job? _job;
    static int _sleeping;

    /// <summary>One product: its chunks and its own counters, so that a helper late for it can do no harm to the next.</summary>
    sealed class Job(Action<int> chunk, int chunks)
    {
        int _next, _done;
        public Exception? Error;

        public bool Finished => Volatile.Read(ref _done) >= chunks;

        /// <summary>Takes chunks until none are left.</summary>
        public void Work()
        {
            int c;
            while ((c = Interlocked.Increment(ref _next) - 1) < chunks)
            {
                try { chunk(c); }
                catch (Exception e) { Error ??= e; }
                Interlocked.Increment(ref _done);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="chunk"/> for 0 .. <paramref name="chunks"/> - 1 on the calling thread and up to
    /// <paramref name="threads"/> - 1 helpers. When another thread is using the helpers, the caller works alone.
    /// </summary>
    public static void Run(int threads, int chunks, Action<int> chunk)
    {
        if (threads <= 1 || chunks <= 1 || !Monitor.TryEnter(Gate))
        {
            for (int c = 0; c < chunks; c++) chunk(c);
            return;
        }
        try
        {
            while (Helpers.Count < threads - 1)
            {
                var helper = new Thread(Help) { IsBackground = true, Name = $"llmforge decode {Helpers.Count + 1}" };
                Helpers.Add(helper);
                helper.Start();
            }
            var job = new Job(chunk, chunks);
            Volatile.Write(ref _job, job); // spinning helpers see it at once
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) Wake.Release(sleeping);
            job.Work();
            var spin = new SpinWait();
            while (!job.Finished) spin.SpinOnce(sleep1Threshold: -1);
            if (job.Error is { } error) throw new AggregateException(error);
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    static void Help()
    {
        Job? seen = null;
        while (true)
        {
            long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _job) == seen && System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil) Thread.SpinWait(20);
            if (Volatile.Read(ref _job) == seen)
            {
                Interlocked.Increment(ref _sleeping);
                // A product published between the check and the count is caught by the timeout.
                while (Volatile.Read(ref _job) == seen) Wake.Wait(10);
                Interlocked.Decrement(ref _sleeping);
            }
            seen = Volatile.Read(ref _job);
            seen?.Work();
        }
    }
}
