using System.Diagnostics;
using LlmForge.Generation;
using LlmForge.Model;
using static TorchSharp.torch;

namespace LlmForge.Benchmarks;

/// <summary>What <see cref="GenerationSpeedBenchmark"/> measured (the JSON of <c>llmforge bench generate</c>).</summary>
public sealed record GenerationSpeedResult(double TokensPerSecond, double TokensPerSecondNoCache, double Speedup);

/// <summary>Greedy generation with random weights, with the KV cache and with full recomputation.</summary>
public static class GenerationSpeedBenchmark
{
    public static GenerationSpeedResult Run(GptConfig config, int promptTokens, int newTokens)
    {
        manual_seed(123);
        using var model = new GptModel(config);
        model.eval();
        int[] prompt = Enumerable.Range(1000, promptTokens).Select(i => i % config.VocabSize).ToArray();
        double Rate(bool cache)
        {
            var options = new GenerationOptions { MaxNewTokens = newTokens, UseKvCache = cache };
            TextGenerator.Generate(model, prompt, options with { MaxNewTokens = 3 }).Count(); // warm-up
            var clock = Stopwatch.StartNew();
            int produced = TextGenerator.Generate(model, prompt, options).Count();
            return produced / clock.Elapsed.TotalSeconds;
        }
        double withCache = Rate(true), withoutCache = Rate(false);
        return new GenerationSpeedResult(withCache, withoutCache, withCache / withoutCache);
    }
}
