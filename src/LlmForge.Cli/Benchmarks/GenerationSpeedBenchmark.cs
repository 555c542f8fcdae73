using System.Diagnostics;
using static TorchSharp.torch;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What <see cref="GenerationSpeedBenchmark"/> measured (the JSON of <c>llmforge bench generate</c>).</summary>
/// <param name="TokensPerSecondNoCache">null when the run without the cache was skipped.</param>
/// <param name="FirstTokenSeconds">the time to the first new token with the cache: the prompt's forward pass and one sample.</param>
public sealed record GenerationSpeedResult(double TokensPerSecond, double? TokensPerSecondNoCache, double FirstTokenSeconds)
{
    public double? Speedup => TokensPerSecond / TokensPerSecondNoCache;
}

/// <summary>Greedy generation with random weights, with the KV cache and (unless skipped) with full recomputation.</summary>
public static class GenerationSpeedBenchmark
{
    /// <summary>The prompt: ids 1000, 1001, ... (any ids serve: the time does not depend on them).</summary>
    public static int[] PromptIds(ILanguageModel model, int promptTokens) =>
        Enumerable.Range(1000, promptTokens).Select(i => i % model.OutputSize).ToArray();

    /// <param name="progress">told (phase, tokens done, tokens in the phase) as each token comes: the runs take minutes on large models.</param>
    public static GenerationSpeedResult Run(ILanguageModel model, int promptTokens, int newTokens, bool withoutCache = true, Action<string, int, int>? progress = null)
    {
        model.Module.eval();
        int[] prompt = PromptIds(model, promptTokens);
        (int Produced, double FirstToken) Count(string phase, GenerationOptions options)
        {
            int produced = 0;
            double firstToken = 0;
            var clock = Stopwatch.StartNew();
            foreach (int _ in TextGenerator.Generate(model, prompt, options))
            {
                if (produced == 0) firstToken = clock.Elapsed.TotalSeconds;
                progress?.Invoke(phase, ++produced, options.MaxNewTokens);
            }
            return (produced, firstToken);
        }
        (double Rate, double FirstToken) Rate(bool cache)
        {
            var options = new GenerationOptions { MaxNewTokens = newTokens, UseKvCache = cache };
            Count(cache ? "warm-up with KV cache" : "warm-up without KV cache", options with { MaxNewTokens = Math.Min(3, newTokens) });
            var clock = Stopwatch.StartNew();
            var (produced, firstToken) = Count(cache ? "with KV cache" : "without KV cache", options);
            double seconds = clock.Elapsed.TotalSeconds;
            // The rate of decoding: the tokens after the first, over the time after it (the prompt's pass is the first token's).
            return (produced > 1 ? (produced - 1) / (seconds - firstToken) : produced / seconds, firstToken);
        }
        var (withCache, first) = Rate(true);
        double? noCache = withoutCache ? Rate(false).Rate : null;
        return new GenerationSpeedResult(withCache, noCache, first);
    }
}
