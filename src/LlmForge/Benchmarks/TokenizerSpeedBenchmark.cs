using LlmForge.Text;
using Microsoft.ML.Tokenizers;

namespace LlmForge.Benchmarks;

/// <summary>What <see cref="TokenizerSpeedBenchmark"/> measured (the JSON of <c>llmforge bench tokenize</c>).</summary>
public sealed record TokenizerSpeedResult(double TokensPerSecond, double ReferenceTokensPerSecond, double Ratio, int Tokens);

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
}
