using LlmForge.Generation;

namespace LlmForge.Benchmarks;

/// <summary>
/// <c>llmforge bench generate</c>'s figures (with and without the KV cache), then resident memory
/// across repeated generations, which must not grow.
/// </summary>
static class GenerationBenchmark
{
    public static int Run(string[] args)
    {
        string preset = Args.Text(args, 0, "gpt2-small");
        int promptTokens = Args.Number(args, 1, 10);
        int newTokens = Args.Number(args, 2, 200);
        int repeats = Args.Number(args, 3, 5);
        var config = GptConfig.Preset(preset);
        Console.WriteLine($"{preset}, {promptTokens}-token prompt, {newTokens} new tokens, greedy, {get_num_threads()} threads");
        GenerationSpeedResult speed;
        using (var random = LlmForge.Training.ModelChoice.RandomModel(preset, null)) speed = GenerationSpeedBenchmark.Run(random, promptTokens, newTokens);
        Console.WriteLine($"with KV cache     {speed.TokensPerSecond,8:F1} tokens/s");
        Console.WriteLine($"without KV cache  {speed.TokensPerSecondNoCache,8:F1} tokens/s");
        Console.WriteLine($"speedup           {speed.Speedup,8:F2}x");

        manual_seed(123);
        using var model = new GptModel(config);
        model.eval();
        int[] prompt = Enumerable.Range(1000, promptTokens).ToArray();
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
