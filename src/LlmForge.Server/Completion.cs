using LlmForge.Instruction;

namespace LlmForge.Server;

/// <summary>One generation as a request asks for it: the prompt's ids, the sampling, the stop strings.</summary>
/// <param name="IsResponse">an instruction model's answer: its own <c>### Response:</c> line is dropped.</param>
public sealed record CompletionJob(int[] PromptIds, GenerationOptions Options, IReadOnlyList<string> Stop, bool IsResponse);

/// <summary>How a generation ended: OpenAI's finish reason is <c>stop</c> (end-of-text or a stop string), <c>length</c>, or <c>cancelled</c> (the client left or the server stopped).</summary>
public sealed record CompletionResult(int PromptTokens, int CompletionTokens, string FinishReason, TimeSpan Duration);

/// <summary>Runs a <see cref="CompletionJob"/> on the model alone, handing out the text as it is generated.</summary>
public static class Completion
{
    public static CompletionResult Run(ServedModel served, CompletionJob job, Action<string> emit, CancellationToken cancel)
    {
        var run = new CompletionRun(served, job, emit, cancel);
        foreach (int id in TextGenerator.Generate(served.Network, job.PromptIds, run.Options))
            if (!run.Add(id)) break;
        return run.Finish();
    }
}

/// <summary>
/// One generation's ids turned into text as they come, alone (<see cref="Completion"/>) or in a shared batch
/// (<see cref="GenerationQueue"/>): the tokenizer's streaming decode, an instruction model's response marker
/// dropped, the stop strings, and how it ended.
/// </summary>
public sealed class CompletionRun(ServedModel served, CompletionJob job, Action<string> emit, CancellationToken cancel)
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    readonly StreamingDecoder _decoder = served.Tokenizer.NewStreamingDecoder();
    readonly ResponseMarkerFilter? _response = job.IsResponse ? new ResponseMarkerFilter() : null;
    readonly StopSequences _stops = new(job.Stop);
    int _generated;
    string _finish = "length";

    /// <summary>The job's sampling, with the tokenizer's end tokens as stop ids.</summary>
    public GenerationOptions Options { get; } = job.Options with { StopTokenIds = served.Tokenizer.StopIds };

    /// <summary>Takes the next id; false when the generation is done (an end token, a stop string, or the request cancelled).</summary>
    public bool Add(int id)
    {
        _generated++;
        if (Options.IsStop(id)) { _finish = "stop"; return false; }
        Emit(_decoder.Add(id));
        if (_stops.Stopped) { _finish = "stop"; return false; }
        // Checked after each token: a client that left stops costing the others their turn.
        if (cancel.IsCancellationRequested) { _finish = "cancelled"; return false; }
        return true;
    }

    /// <summary>Hands out what was held back and says how the generation ended.</summary>
    public CompletionResult Finish()
    {
        if (!_stops.Stopped && _finish != "cancelled")
        {
            Emit(_decoder.Finish());
            string held = _stops.Finish();
            if (held.Length > 0) emit(held);
            if (_stops.Stopped) _finish = "stop";
        }
        return new CompletionResult(job.PromptIds.Length, _generated, _finish, _clock.Elapsed);
    }

    void Emit(string text)
    {
        if (_response != null) text = _response.Add(text);
        text = _stops.Add(text);
        if (text.Length > 0) emit(text);
    }
}
