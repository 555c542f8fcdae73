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

/// <summary>Milliseconds a decoded token spends in the model's forward pass, in choosing the token (greedy), and elsewhere in the loop.</summary>
public sealed record DecodeBreakdown(double ForwardMs, double SamplingMs, double OtherMs);

/// <summary>Several sequences decoded together: all of them one token a step, in one forward pass.</summary>
/// <param name="TokensPerSecond">tokens of every sequence after the first step, over the time after it.</param>
public sealed record BatchedSpeedResult(int Batch, double TokensPerSecond, double FirstTokenSeconds);

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

    /// <summary>
    /// The decode loop of <see cref="TextGenerator"/> with a clock on each part: the forward pass of one token with the
    /// KV cache (as generation runs it, libtorch's small operations on one thread), the greedy choice and its read-back,
    /// and the rest of the step.
    /// </summary>
    public static DecodeBreakdown Breakdown(ILanguageModel model, int promptTokens, int newTokens)
    {
        model.Module.eval();
        int threads = get_num_threads();
        using var cache = model.NewKvCache(promptTokens + newTokens);
        using var sampler = new Sampler(new GenerationOptions());
        double forward = 0, sampling = 0;
        long next;
        using (no_grad())
        using (var scope = NewDisposeScope())
            next = sampler.Next(model.forward(tensor(PromptIds(model, promptTokens).Select(i => (long)i).ToArray(), [1, promptTokens]), cache)[.., -1, ..]).item<long>();
        var total = Stopwatch.StartNew();
        var part = new Stopwatch();
        for (int step = 1; step < newTokens; step++)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            part.Restart();
            Tensor logits;
            using (DecodeLinear.OneThreadAround(threads)) logits = model.forward(tensor(new[] { next }, [1, 1]), cache);
            forward += part.Elapsed.TotalMilliseconds;
            part.Restart();
            next = sampler.Next(logits[.., -1, ..]).item<long>();
            sampling += part.Elapsed.TotalMilliseconds;
        }
        double all = total.Elapsed.TotalMilliseconds, steps = Math.Max(1, newTokens - 1);
        return new DecodeBreakdown(forward / steps, sampling / steps, (all - forward - sampling) / steps);
    }

    /// <summary>
    /// <paramref name="batch"/> sequences (prompts of the same length, different ids) decoded greedily together: one
    /// forward pass a step for all of them, with one KV cache holding the batch.
    /// </summary>
    public static BatchedSpeedResult RunBatched(ILanguageModel model, int promptTokens, int newTokens, int batch)
    {
        model.Module.eval();
        int threads = get_num_threads();
        long[] prompt = Enumerable.Range(0, batch).SelectMany(b => PromptIds(model, promptTokens).Select(i => (long)((i + 97 * b) % model.OutputSize))).ToArray();
        using var panels = new DecodePanels(); // the weights in panel order, made in the warm-up's first decoding step
        using var sampler = new Sampler(new GenerationOptions()); // greedy, as one sequence's runs pick
        double Once(int tokens, out double firstToken)
        {
            using var cache = model.NewKvCache(promptTokens + tokens);
            var clock = Stopwatch.StartNew();
            firstToken = 0;
            using var noGrad = no_grad();
            var input = tensor(prompt, [batch, promptTokens]);
            for (int step = 0; step < tokens; step++)
            {
                using var scope = NewDisposeScope();
                // Decoding steps as generation runs them: libtorch's small operations on one thread (DecodeLinear).
                using var oneThread = step > 0 ? DecodeLinear.OneThreadAround(threads, panels) : null;
                var next = sampler.Next(model.forward(input, cache)[.., -1, ..]);
                _ = next[0, 0].item<long>(); // the step is done when its tokens are read back, as a server would
                if (step == 0) firstToken = clock.Elapsed.TotalSeconds;
                input = next.MoveToOuterDisposeScope();
            }
            return clock.Elapsed.TotalSeconds;
        }
        Once(Math.Min(3, newTokens), out _); // warm-up
        double seconds = Once(newTokens, out double first);
        double rate = newTokens > 1 ? batch * (newTokens - 1) / (seconds - first) : batch / seconds;
        return new BatchedSpeedResult(batch, rate, first);
    }
}
