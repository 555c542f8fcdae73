using System.Diagnostics;
using static TorchSharp.torch;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What <see cref="GenerationSpeedBenchmark"/> measured (the JSON of <c>llmforge bench generate</c>).</summary>
public sealed record GenerationSpeedResult(double TokensPerSecond, double TokensPerSecondNoCache, double Speedup);

/// <summary>Greedy generation with random weights, with the KV cache and with full recomputation.</summary>
public static class GenerationSpeedBenchmark
{
    /// <param name="progress">told (phase, tokens done, tokens in the phase) as each token comes: the runs take minutes on large models.</param>
    public static GenerationSpeedResult Run(GptConfig config, int promptTokens, int newTokens, Action<string, int, int>? progress = null, string device = "cpu")
    {
        manual_seed(123);
        using var model = new GptModel(config);
        ComputeDevice.MoveTo(model, device);
        model.eval();
        int[] prompt = Enumerable.Range(1000, promptTokens).Select(i => i % config.VocabSize).ToArray();
        int Count(string phase, GenerationOptions options)
        {
            int produced = 0;
            foreach (int _ in TextGenerator.Generate(model, prompt, options))
                progress?.Invoke(phase, ++produced, options.MaxNewTokens);
            return produced;
        }
        double Rate(bool cache)
        {
            var options = new GenerationOptions { MaxNewTokens = newTokens, UseKvCache = cache };
            Count(cache ? "warm-up with KV cache" : "warm-up without KV cache", options with { MaxNewTokens = Math.Min(3, newTokens) });
            var clock = Stopwatch.StartNew();
            int produced = Count(cache ? "with KV cache" : "without KV cache", options);
            return produced / clock.Elapsed.TotalSeconds;
        }
        double withCache = Rate(true), withoutCache = Rate(false);
        return new GenerationSpeedResult(withCache, withoutCache, withCache / withoutCache);
    }
}
