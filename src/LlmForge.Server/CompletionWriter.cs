namespace LlmForge.Server;

/// <summary>
/// How one protocol answers a generation: <see cref="StartAsync"/> before the first text (a streamed answer
/// sends its headers there), each piece of text, then the end with the counts; a streamed answer that fails after
/// it started reports the error in the stream, since its status is already sent.
/// </summary>
public abstract class CompletionWriter(HttpContext http, bool stream)
{
    protected HttpContext Http => http;
    protected HttpResponse Response => http.Response;
    protected bool Stream => stream;

    /// <summary>The whole text, for an answer that is not streamed.</summary>
    protected System.Text.StringBuilder Text { get; } = new();

    public abstract Task StartAsync();

    public abstract Task PieceAsync(string text);

    public abstract Task EndAsync(CompletionResult result);

    public abstract Task FailAsync(ApiException error);

    /// <summary>
    /// Runs <paramref name="job"/> on the queue and writes its text through <paramref name="writer"/> as it comes.
    /// A client that leaves, or the server stopping, cancels the generation at the next token.
    /// </summary>
    public static async Task RunAsync(ServerState state, HttpContext http, CompletionJob job, CompletionWriter writer)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, state.Stopping);
        var pieces = System.Threading.Channels.Channel.CreateUnbounded<string>(new() { SingleReader = true, SingleWriter = true });
        var run = state.Queue.Complete(state.Model, job, piece => pieces.Writer.TryWrite(piece), cancel.Token);
        // However the work ends (done, failed, never started), the reader below stops waiting.
        _ = run.ContinueWith(_ => pieces.Writer.TryComplete(), TaskScheduler.Default);
        bool started = false;
        try
        {
            await foreach (string piece in pieces.Reader.ReadAllAsync())
            {
                if (!started) { started = true; await writer.StartAsync(); }
                await writer.PieceAsync(piece);
            }
            var result = await run;
            http.Items[RequestLog.TokensKey] = result.CompletionTokens;
            if (!started) { started = true; await writer.StartAsync(); }
            await writer.EndAsync(result);
        }
        catch (Exception e) when (started && !http.RequestAborted.IsCancellationRequested && e is not OperationCanceledException)
        {
            var error = ApiErrors.ToApi(e);
            http.Items[RequestLog.ErrorKey] = error.Message;
            await writer.FailAsync(error);
        }
        finally
        {
            cancel.Cancel();
            // The worker stops at its next token; the log counts what it made.
            try { http.Items[RequestLog.TokensKey] = (await run).CompletionTokens; } catch (Exception) when (run.IsFaulted || run.IsCanceled) { }
        }
    }
}
