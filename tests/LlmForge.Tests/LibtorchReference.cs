namespace LlmForge.Tests;

/// <summary>
/// What the decoding-step tests compare against: a forward pass through libtorch alone (<see cref="DecodeLinear.Enabled"/>
/// off on this thread, so no fast path runs), and how far apart two sets of logits are.
/// </summary>
static class LibtorchReference
{
    /// <summary><paramref name="run"/>'s result with the fast paths off on this thread.</summary>
    public static Tensor Run(Func<Tensor> run)
    {
        DecodeLinear.Enabled = false;
        try { return run(); }
        finally { DecodeLinear.Enabled = true; }
    }

    /// <summary>The largest difference over the largest expected logit: fp32 differs by the sums' order, bf16 by its roundings.</summary>
    public static double Difference(Tensor ours, Tensor expected)
    {
        var a = ours.to(ScalarType.Float32);
        var b = expected.to(ScalarType.Float32);
        return (a - b).abs().max().item<float>() / b.abs().max().item<float>();
    }

    /// <summary>Ids <c>[B, 1]</c>: one new token for each of B sequences.</summary>
    public static Tensor Ids(params long[] ids) => tensor(ids, [ids.Length, 1]);

    /// <summary>
    /// A prompt, then <paramref name="steps"/> single tokens by <paramref name="step"/> (a decoding step on raw memory) and
    /// by the libtorch-only forward, each with a cache of its own: the same logits within <paramref name="tolerance"/>
    /// at every step, and the caches as long.
    /// </summary>
    public static void OneSequenceMatches(ILanguageModel model, Func<Tensor, KvCache, Tensor?> step, long[] prompt, int steps, double tolerance)
    {
        using var ours = model.NewKvCache(prompt.Length + steps);
        using var reference = model.NewKvCache(prompt.Length + steps);
        // The prompt fills both caches the same way (several tokens are the model's own forward).
        var ids = tensor(prompt, [1, prompt.Length]);
        model.forward(ids, ours);
        Run(() => model.forward(ids, reference));
        for (int s = 0; s < steps; s++)
        {
            var id = Ids((s * 31 + 7) % model.OutputSize);
            var logits = step(id, ours);
            Assert.NotNull(logits);
            var expected = Run(() => model.forward(id, reference));
            Assert.Equal(expected.shape, logits.shape);
            Assert.Equal(expected.dtype, logits.dtype);
            Assert.True(Difference(logits, expected) <= tolerance, $"step {s}: {Difference(logits, expected)}");
            Assert.Equal(reference.Length, ours.Length);
        }
    }

    /// <summary>
    /// Sequences with prompts and caches of different lengths decoded together by <paramref name="step"/>
    /// (<see cref="KvCache.Rows"/>, as a batch of generations runs its steps) against each sequence alone through libtorch.
    /// </summary>
    public static void SequencesWithOwnCachesMatch(ILanguageModel model, Func<Tensor, KvCache, Tensor?> step, long[][] prompts, int[] capacities, double tolerance)
    {
        var ours = prompts.Select((p, i) => model.NewKvCache(capacities[i])).ToArray();
        var alone = prompts.Select((p, i) => model.NewKvCache(capacities[i])).ToArray();
        try
        {
            for (int i = 0; i < prompts.Length; i++)
            {
                var prompt = tensor(prompts[i], [1, prompts[i].Length]);
                model.forward(prompt, ours[i]);
                Run(() => model.forward(prompt, alone[i]));
            }
            using (DecodeLinear.OneThreadAround(1))
                for (int s = 0; s < 6; s++)
                {
                    long[] ids = [.. prompts.Select((_, i) => (long)((s * 7 + 1 + 40 * i) % model.OutputSize))];
                    using var rows = KvCache.Rows(ours);
                    var logits = step(Ids(ids), rows);
                    Assert.NotNull(logits);
                    for (int i = 0; i < ids.Length; i++)
                    {
                        var expected = Run(() => model.forward(Ids(ids[i]), alone[i]));
                        double difference = Difference(logits.narrow(0, i, 1), expected);
                        Assert.True(difference <= tolerance, $"step {s}, sequence {i}: {difference}");
                        Assert.Equal(alone[i].Length, ours[i].Length);
                    }
                }
        }
        finally
        {
            foreach (var cache in ours.Concat(alone)) cache.Dispose();
        }
    }
}
