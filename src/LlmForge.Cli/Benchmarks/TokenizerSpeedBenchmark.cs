using LlmForge.Text;
using Microsoft.ML.Tokenizers;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What <see cref="TokenizerSpeedBenchmark"/> measured (the JSON of <c>llmforge bench tokenize</c>).</summary>
public sealed record TokenizerSpeedResult(double TokensPerSecond, double ReferenceTokensPerSecond, double Ratio, int Tokens);

/// <summary>
/// The encoding time of one text that is a single piece (<see cref="TokenizerSpeedBenchmark.RunLongRuns"/>):
/// ours, and Microsoft.ML.Tokenizers' unless it ran past <paramref name="ReferenceLimitSeconds"/>
/// (<paramref name="ReferenceSeconds"/> null). The ids are compared when the reference finished.
/// </summary>
public sealed record TokenizerLongRunResult(string Text, int Chars, int Tokens, double Seconds, double? ReferenceSeconds, double ReferenceLimitSeconds)
{
    public string Describe() => $"{Text} ({Chars:N0} chars, {Tokens:N0} tokens): {Seconds:F3} s against Microsoft.ML.Tokenizers' "
        + (ReferenceSeconds is double r ? $"{r:F3} s (identical ids)" : $"more than {ReferenceLimitSeconds:F0} s (stopped waiting)");
}

/// <summary>
/// Steady-state encoding speed of <see cref="Gpt2Tokenizer"/> against Microsoft.ML.Tokenizers' GPT-2
/// tokenizer on the same text, interleaved so that noise hits both alike; the ids must agree.
/// </summary>
public static class TokenizerSpeedBenchmark
{
    public static TokenizerSpeedResult Run(string text, int runs = 15)
    {
        var ours = Gpt2Tokenizer.LoadBundled();
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        int[] ids = ours.Encode(text);
        if (!ids.AsSpan().SequenceEqual(reference.EncodeToIds(text).ToArray()))
            throw new InvalidOperationException("the two tokenizers disagree on this text");
        var oursTimes = new List<double>();
        var referenceTimes = new List<double>();
        for (int i = 0; i < runs + 2; i++)
        {
            double a = Timing.Seconds(() => ours.Encode(text), 0, 1)[0];
            double b = Timing.Seconds(() => reference.EncodeToIds(text), 0, 1)[0];
            if (i < 2) continue; // warm-up
            oursTimes.Add(a);
            referenceTimes.Add(b);
        }
        double oursRate = ids.Length / Timing.Median(oursTimes), referenceRate = ids.Length / Timing.Median(referenceTimes);
        return new TokenizerSpeedResult(oursRate, referenceRate, oursRate / referenceRate, ids.Length);
    }

    /// <summary>
    /// Texts that are one piece from end to end, where merging is quadratic unless done with care:
    /// 200,000 × "a", and a 5 MB line of the letters of <paramref name="text"/> (everything else left
    /// out). Microsoft.ML.Tokenizers is quadratic there; past <paramref name="referenceLimitSeconds"/>
    /// it is no longer waited for (its thread runs on until the process ends, so ours are all timed first).
    /// </summary>
    public static IReadOnlyList<TokenizerLongRunResult> RunLongRuns(string text, double referenceLimitSeconds = 60)
    {
        var ours = Gpt2Tokenizer.LoadBundled();
        var reference = TiktokenTokenizer.CreateForModel("gpt2");
        (string Name, string Text)[] cases = [("200,000 × \"a\"", new string('a', 200_000)), ("5 MB line of letters", LettersOnly(text, 5_000_000))];
        var ourTimes = new List<(int[] Ids, double Seconds)>();
        foreach (var (_, run) in cases)
        {
            int[] ids = [];
            double seconds = Timing.Seconds(() => ids = ours.Encode(run), 0, 1)[0];
            ourTimes.Add((ids, seconds));
        }
        var results = new List<TokenizerLongRunResult>();
        for (int i = 0; i < cases.Length; i++)
        {
            var (name, run) = cases[i];
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var encoding = Task.Run(() => reference.EncodeToIds(run).ToArray());
            double? referenceSeconds = null;
            if (encoding.Wait(TimeSpan.FromSeconds(referenceLimitSeconds)))
            {
                referenceSeconds = clock.Elapsed.TotalSeconds;
                if (!ourTimes[i].Ids.AsSpan().SequenceEqual(encoding.Result))
                    throw new InvalidOperationException($"the two tokenizers disagree on {name}");
            }
            results.Add(new TokenizerLongRunResult(name, run.Length, ourTimes[i].Ids.Length, ourTimes[i].Seconds, referenceSeconds, referenceLimitSeconds));
        }
        return results;
    }

    static string LettersOnly(string text, int length)
    {
        var letters = new System.Text.StringBuilder(length);
        foreach (char c in text)
            if (char.IsLetter(c)) letters.Append(c);
        if (letters.Length == 0) letters.Append('a');
        string once = letters.ToString();
        while (letters.Length < length) letters.Append(once, 0, Math.Min(once.Length, length - letters.Length));
        return letters.ToString(0, length);
    }
}
