using LlmForge.Instruction;

namespace LlmForge.Server;

/// <summary>One generation as a request asks for it: the prompt's ids, the sampling, the stop strings.</summary>
/// <param name="IsResponse">an instruction model's answer: its own <c>### Response:</c> line is dropped.</param>
public sealed record CompletionJob(int[] PromptIds, GenerationOptions Options, IReadOnlyList<string> Stop, bool IsResponse);

/// <summary>How a generation ended: OpenAI's finish reason is <c>stop</c> (end-of-text or a stop string), <c>length</c>, or <c>cancelled</c> (the client left or the server stopped).</summary>
public sealed record CompletionResult(int PromptTokens, int CompletionTokens, string FinishReason, TimeSpan Duration);

/// <summary>Runs a <see cref="CompletionJob"/> on the model, handing out the text as it is generated.</summary>
public static class Completion
{
    public static CompletionResult Run(ServedModel served, CompletionJob job, Action<string> emit, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var options = job.Options with { StopTokenIds = served.Tokenizer.StopIds };
        var decoder = served.Tokenizer.NewStreamingDecoder();
        var response = job.IsResponse ? new ResponseMarkerFilter() : null;
        var stops = new StopSequences(job.Stop);
        int generated = 0;
        string finish = "length";
        void Emit(string text)
        {
            if (response != null) text = response.Add(text);
            text = stops.Add(text);
            if (text.Length > 0) emit(text);
        }
        foreach (int id in TextGenerator.Generate(served.Network, job.PromptIds, options))
        {
            generated++;
            if (options.IsStop(id)) { finish = "stop"; break; }
            Emit(decoder.Add(id));
            if (stops.Stopped) { finish = "stop"; break; }
            // Checked after each token: a client that left stops costing the others their turn.
            if (cancel.IsCancellationRequested) { finish = "cancelled"; break; }
        }
        if (!stops.Stopped && finish != "cancelled")
        {
            Emit(decoder.Finish());
            string held = stops.Finish();
            if (held.Length > 0) emit(held);
            if (stops.Stopped) finish = "stop";
        }
        return new CompletionResult(job.PromptIds.Length, generated, finish, clock.Elapsed);
    }
}
