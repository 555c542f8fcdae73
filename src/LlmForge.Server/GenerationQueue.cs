using System.Collections.Concurrent;

namespace LlmForge.Server;

/// <summary>
/// The bounded queue in front of the model: one worker thread runs the requests' work one after another, in the
/// order they came, so that the single model and its threads are never shared by two forward passes. A request
/// that finds <c>maxWaiting</c> others already waiting is refused at once (429) instead of waiting without bound.
/// </summary>
public sealed class GenerationQueue : IDisposable
{
    readonly BlockingCollection<Action> _work = new();
    readonly Thread _worker;
    readonly int _maxWaiting;
    int _admitted; // waiting plus running

    public GenerationQueue(int maxWaiting)
    {
        if (maxWaiting < 0) throw new BadInputException($"--max-queue {maxWaiting}: expected 0 or more requests waiting");
        _maxWaiting = maxWaiting;
        _worker = new Thread(() =>
        {
            foreach (var work in _work.GetConsumingEnumerable()) work();
        }) { IsBackground = true, Name = "llmforge generation" };
        _worker.Start();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the worker when its turn comes. Work whose request was cancelled while it
    /// waited is not started.
    /// </summary>
    /// <exception cref="ApiException">429: the queue is full.</exception>
    public Task<T> Run<T>(Func<CancellationToken, T> work, CancellationToken cancel)
    {
        if (Interlocked.Increment(ref _admitted) > _maxWaiting + 1)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ApiException(429, $"the server is busy: {_maxWaiting} requests are already waiting (--max-queue); try again shortly", null, "queue_full");
        }
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

    /// <summary>Lets the worker finish what was queued, then ends it.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        _worker.Join();
        _work.Dispose();
    }
}
