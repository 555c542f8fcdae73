using System.Collections.Concurrent;

namespace LlmForge.Server;

/// <summary>
/// The bounded queue in front of the model: one worker thread owns the model, so that no two forward passes share
/// it. Completions that arrive while others run join them in a <see cref="SequenceBatch"/> (up to <c>maxBatch</c>
/// at once): every decoding step then reads the weights once for all of them. Other work (classification, a
/// generation the batch cannot take) runs alone in its turn, between steps, in the order it came. A request that
/// finds <c>maxWaiting</c> others already waiting is refused at once (429) instead of waiting without bound.
/// </summary>
public sealed class GenerationQueue : IDisposable
{
    /// <summary>A completion waiting for its place in the batch.</summary>
    sealed record Pending(ServedModel Served, CompletionJob Job, Action<string> Emit, CancellationToken Cancel, TaskCompletionSource<CompletionResult> Done);

    readonly BlockingCollection<object> _work = new(); // Action or Pending
    readonly Thread _worker;
    readonly int _maxWaiting, _maxBatch;
    int _admitted; // waiting plus running

    /// <param name="maxWaiting">requests that may wait beyond those running.</param>
    /// <param name="maxBatch">completions decoded together; 1 runs each alone.</param>
    /// <param name="model">the model completions run on (its batch is made on the worker).</param>
    public GenerationQueue(int maxWaiting, int maxBatch = 1, ILanguageModel? model = null)
    {
        if (maxWaiting < 0) throw new BadInputException($"--max-queue {maxWaiting}: expected 0 or more requests waiting");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1); // ServerOptions says so to the user
        _maxWaiting = maxWaiting;
        _maxBatch = model == null ? 1 : maxBatch;
        _worker = new Thread(() => Work(model)) { IsBackground = true, Name = "llmforge generation" };
        _worker.Start();
    }

    /// <summary>Requests allowed beyond those running before 429.</summary>
    int Capacity => _maxWaiting + _maxBatch;

    /// <summary>
    /// Runs <paramref name="work"/> on the worker when its turn comes, alone. Work whose request was cancelled while
    /// it waited is not started.
    /// </summary>
    /// <exception cref="ApiException">429: the queue is full.</exception>
    public Task<T> Run<T>(Func<CancellationToken, T> work, CancellationToken cancel)
    {
        Admit();
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                if (cancel.IsCancellationRequested) done.SetCanceled(cancel);
                else done.SetResult(work(cancel));
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { done.SetCanceled(cancel); }
            catch (Exception e) { done.SetException(e); }
            finally { Interlocked.Decrement(ref _admitted); }
        });
        return done.Task;
    }

    /// <summary>
    /// Generates <paramref name="job"/>, handing its text to <paramref name="emit"/> as it comes: in the batch with
    /// the other completions running, or alone when batching is off or the batch cannot take it.
    /// </summary>
    /// <exception cref="ApiException">429: the queue is full.</exception>
    public Task<CompletionResult> Complete(ServedModel served, CompletionJob job, Action<string> emit, CancellationToken cancel)
    {
        if (_maxBatch == 1) return Run(token => Completion.Run(served, job, emit, token), cancel);
        Admit();
        var done = new TaskCompletionSource<CompletionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(new Pending(served, job, emit, cancel, done));
        return done.Task;
    }

    void Admit()
    {
        if (Interlocked.Increment(ref _admitted) > Capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ApiException(429, $"the server is busy: {_maxBatch} request{(_maxBatch == 1 ? " is" : "s are")} generating (--max-batch) and {_maxWaiting} waiting (--max-queue); try again shortly", null, "queue_full");
        }
    }

    /// <summary>
    /// The worker: takes what arrived, starts it (work alone at once, completions while the batch has room), then runs
    /// one decoding step of the batch; it sleeps only when nothing runs and nothing waits.
    /// </summary>
    void Work(ILanguageModel? model)
    {
        using var batch = model == null ? null : new SequenceBatch(model, _maxBatch);
        var waiting = new Queue<object>();
        while (true)
        {
            if ((batch?.Count ?? 0) == 0 && waiting.Count == 0)
            {
                if (!_work.TryTake(out var first, Timeout.Infinite)) break; // no more work will come
                waiting.Enqueue(first);
            }
            while (_work.TryTake(out var more)) waiting.Enqueue(more);
            while (waiting.Count > 0 && (waiting.Peek() is Action || !batch!.IsFull))
            {
                var item = waiting.Dequeue();
                if (item is Action work) work();
                else Start(batch!, (Pending)item);
            }
            batch?.Step();
        }
    }

    /// <summary>Starts a completion in the batch, or alone when the batch cannot take it.</summary>
    void Start(SequenceBatch batch, Pending pending)
    {
        var (served, job, emit, cancel, done) = pending;
        // Called once, however the completion ends: with its result, failed, or cancelled before it began.
        void End(Func<CompletionResult>? result, Exception? error)
        {
            Interlocked.Decrement(ref _admitted);
            try
            {
                if (error is OperationCanceledException || result == null && error == null) done.TrySetCanceled(cancel);
                else if (error != null) done.TrySetException(error);
                else done.TrySetResult(result!());
            }
            catch (Exception e) { done.TrySetException(e); }
        }
        if (cancel.IsCancellationRequested)
        {
            End(null, null);
            return;
        }
        try
        {
            var run = new CompletionRun(served, job, emit, cancel);
            if (batch.CanTake(job.PromptIds, run.Options))
                batch.Start(job.PromptIds, run.Options, run.Add, error => End(error == null ? run.Finish : null, error), () => cancel.IsCancellationRequested);
            else
            {
                // Past the context (a sliding window) or without the cache: alone, as without batching.
                var result = Completion.Run(served, job, emit, cancel);
                End(() => result, null);
            }
        }
        catch (Exception e)
        {
            End(null, e);
        }
    }

    /// <summary>Lets the worker finish what was queued and running, then ends it.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        _worker.Join();
        _work.Dispose();
    }
}
