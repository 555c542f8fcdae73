using System.Diagnostics;
using LlmForge.Generation;
using LlmForge.Model;
using static TorchSharp.torch;

namespace LlmForge.Benchmarks;

/// <summary>
/// Tokens per second of greedy generation for a GPT model with random weights (default gpt2-small),
/// with the KV cache and without it, in the same run; then resident memory across repeated
/// generations, which must not grow.
/// </summary>
static class GenerationBenchmark
{
    public static int Run(string[] args)
    {
        string preset = args.Length > 0 ? args[0] : "gpt2-small";
        int promptTokens = args.Length > 1 ? int.Parse(args[1]) : 10;
        int newTokens = args.Length > 2 ? int.Parse(args[2]) : 200;
        int repeats = args.Length > 3 ? int.Parse(args[3]) : 5;
        manual_seed(123);
        using var model = new GptModel(GptConfig.Preset(preset));
        model.eval();
        int[] prompt = Enumerable.Range(1000, promptTokens).ToArray();
        Console.WriteLine($"{preset}, {promptTokens}-token prompt, {newTokens} new tokens, greedy, {get_num_threads()} threads");

        double Rate(bool cache)
        {
            var options = new GenerationOptions { MaxNewTokens = newTokens, UseKvCache = cache };
            TextGenerator.Generate(model, prompt, options with { MaxNewTokens = 3 }).Count(); // warm-up
            var clock = Stopwatch.StartNew();
            int produced = TextGenerator.Generate(model, prompt, options).Count();
            return produced / clock.Elapsed.TotalSeconds;
        }
        double withCache = Rate(true), withoutCache = Rate(false);
        Console.WriteLine($"with KV cache     {withCache,8:F1} tokens/s");
        Console.WriteLine($"without KV cache  {withoutCache,8:F1} tokens/s");
        Console.WriteLine($"speedup           {withCache / withoutCache,8:F2}x");

        var rss = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = newTokens }).Count();
            rss.Add(Measure.ResidentMegabytes());
        }
        Console.WriteLine($"resident MB after each of {repeats} generations: {string.Join(", ", rss.Select(r => r.ToString("F0")))}");
        Console.WriteLine($"growth from first to last: {rss[^1] - rss[0]:F0} MB ({(rss[^1] / rss[0] - 1) * 100:F1}%)");
        return 0;
    }


}
