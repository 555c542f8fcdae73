using Microsoft.ML.Tokenizers;

namespace LlmForge.Benchmarks;

/// <summary>
/// Encoding speed of LlmForge's Gpt2Tokenizer against Microsoft.ML.Tokenizers on the same text: the
/// first encode with fresh tokenizers (empty caches), then the steady state of <c>llmforge bench tokenize</c>,
/// then texts that are one long piece (200,000 × "a", a 5 MB line), where the reference is quadratic.
/// </summary>
static class TokenizerBenchmark
{
    public static int Run(string[] args)
    {
        string file = Args.Text(args, 0, Path.Combine(Paths.RepoRoot, "..", "shared", "data", "tinyshakespeare.txt"));
        string text = File.ReadAllText(file);
        Console.WriteLine($"file: {file} ({text.Length:N0} chars), {Environment.ProcessorCount} cores");

        var clock = Stopwatch.StartNew();
        var ours = Gpt2Tokenizer.LoadBundled();
        double oursLoad = clock.Elapsed.TotalSeconds;
        int tokens = ours.Encode(text).Length;
        double oursCold = clock.Elapsed.TotalSeconds - oursLoad;
        clock.Restart();
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        double referenceLoad = clock.Elapsed.TotalSeconds;
        reference.EncodeToIds(text);
        double referenceCold = clock.Elapsed.TotalSeconds - referenceLoad;

        var steady = TokenizerSpeedBenchmark.Run(text);
        Console.WriteLine($"tokens: {tokens:N0} (identical ids)");
        Console.WriteLine($"{"",-28}{"load s",10}{"first encode tok/s",20}{"steady tok/s (median)",24}");
        Console.WriteLine($"{"LlmForge Gpt2Tokenizer",-28}{oursLoad,10:F3}{tokens / oursCold,20:N0}{steady.TokensPerSecond,24:N0}");
        Console.WriteLine($"{"Microsoft.ML.Tokenizers",-28}{referenceLoad,10:F3}{tokens / referenceCold,20:N0}{steady.ReferenceTokensPerSecond,24:N0}");
        Console.WriteLine($"ratio (LlmForge / Microsoft.ML.Tokenizers): first encode {referenceCold / oursCold:F2}, steady {steady.Ratio:F2}");

        // One piece from end to end: merging that rescans the piece per merge is quadratic there.
        Console.WriteLine("long runs (one piece each; fresh tokenizers):");
        foreach (var run in TokenizerSpeedBenchmark.RunLongRuns(text, referenceLimitSeconds: 60))
            Console.WriteLine("  " + run.Describe());
        return 0;
    }
}
