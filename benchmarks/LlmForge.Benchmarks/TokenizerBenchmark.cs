using System.Diagnostics;
using LlmForge.Text;
using Microsoft.ML.Tokenizers;

namespace LlmForge.Benchmarks;

/// <summary>
/// Encoding speed of LlmForge's Gpt2Tokenizer against Microsoft.ML.Tokenizers' GPT-2 tokenizer on the
/// same text, in the same process: first encode (fresh tokenizers, empty caches) and steady state
/// (median of repeated encodes), interleaved so that machine noise hits both alike.
/// </summary>
static class TokenizerBenchmark
{
    public static int Run(string[] args)
    {
        string file = args.Length > 0 ? args[0] : Path.Combine(FindRepoRoot(), "..", "shared", "data", "tinyshakespeare.txt");
        int runs = args.Length > 1 ? int.Parse(args[1]) : 15;
        string text = File.ReadAllText(file);
        Console.WriteLine($"file: {file} ({text.Length:N0} chars), {runs} runs each, {Environment.ProcessorCount} cores");

        // Cold: loading plus the first encode, caches empty.
        var clock = Stopwatch.StartNew();
        var ours = Gpt2Tokenizer.LoadBundled();
        double oursLoad = clock.Elapsed.TotalSeconds;
        int[] oursIds = ours.Encode(text);
        double oursCold = clock.Elapsed.TotalSeconds - oursLoad;
        clock.Restart();
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        double referenceLoad = clock.Elapsed.TotalSeconds;
        var referenceIds = reference.EncodeToIds(text);
        double referenceCold = clock.Elapsed.TotalSeconds - referenceLoad;
        if (!oursIds.AsSpan().SequenceEqual(referenceIds.ToArray()))
        {
            Console.Error.WriteLine("the two tokenizers disagree on this text: no speed comparison");
            return 1;
        }

        var oursTimes = new List<double>();
        var referenceTimes = new List<double>();
        for (int i = 0; i < runs + 2; i++)
        {
            double a = Measure.Seconds(() => ours.Encode(text), 0, 1)[0];
            double b = Measure.Seconds(() => reference.EncodeToIds(text), 0, 1)[0];
            if (i < 2) continue; // warm-up
            oursTimes.Add(a);
            referenceTimes.Add(b);
        }
        double oursMedian = Measure.Median([.. oursTimes]), referenceMedian = Measure.Median([.. referenceTimes]);
        int tokens = oursIds.Length;
        Console.WriteLine($"tokens: {tokens:N0} (identical ids)");
        Console.WriteLine($"{"",-28}{"load s",10}{"first encode tok/s",20}{"steady tok/s (median)",24}");
        Console.WriteLine($"{"LlmForge Gpt2Tokenizer",-28}{oursLoad,10:F3}{tokens / oursCold,20:N0}{tokens / oursMedian,24:N0}");
        Console.WriteLine($"{"Microsoft.ML.Tokenizers",-28}{referenceLoad,10:F3}{tokens / referenceCold,20:N0}{tokens / referenceMedian,24:N0}");
        Console.WriteLine($"ratio (LlmForge / Microsoft.ML.Tokenizers): first encode {referenceCold / oursCold:F2}, steady {referenceMedian / oursMedian:F2}");
        return 0;
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlmForge.sln"))) return dir.FullName;
        throw new InvalidOperationException("LlmForge.sln not found");
    }
}
