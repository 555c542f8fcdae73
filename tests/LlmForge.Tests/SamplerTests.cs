using LlmForge.Generation;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="Sampler"/>'s greedy pick and finite check, which read CPU logits in place, against libtorch's
/// <c>argmax</c> and <c>isfinite</c>: ties, rows of a larger tensor, bf16, NaN and infinities.
/// </summary>
public sealed class SamplerTests
{
    public static TheoryData<ScalarType> DTypes => new() { ScalarType.Float32, ScalarType.BFloat16 };

    static long[] Greedy(Tensor logits)
    {
        using var sampler = new Sampler(new GenerationOptions());
        using var ids = sampler.Next(logits);
        Assert.Equal([logits.size(0), 1L], ids.shape);
        return ids.data<long>().ToArray();
    }

    [Theory, MemberData(nameof(DTypes))]
    public void GreedyPicksLibtorchsArgmaxWithTiesToTheFirst(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var logits = randn(4, 50_257).to(dtype);
        // Row 1: the largest value twice; row 2: everything equal; row 3: the largest in the last, unvectorised entries.
        logits[1, 17] = tensor(40f).to(dtype);
        logits[1, 30_000] = tensor(40f).to(dtype);
        logits[2].fill_(0.5);
        logits[3, 50_256] = tensor(40f).to(dtype);
        var expected = logits.argmax(-1).data<long>().ToArray();
        Assert.Equal([17L, 0L, 50_256L], expected[1..]);
        Assert.Equal(expected, Greedy(logits));
        // One row of a larger tensor (its memory starts partway), as a decoding step of several sequences passes it.
        Assert.Equal([expected[3]], Greedy(logits.narrow(0, 3, 1)));
        // Strided logits take libtorch's path and agree.
        Assert.Equal(expected, Greedy(logits.t().contiguous().t()));
    }

    [Theory, MemberData(nameof(DTypes))]
    public void NaNOrAnInfinityAnywhereIsRefusedGreedyOrSampled(ScalarType dtype)
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            foreach (int at in new[] { 0, 12_345, 50_256 })
                foreach (double temperature in new[] { 0.0, 1.0 })
                {
                    using var scope = NewDisposeScope();
                    var logits = randn(2, 50_257).to(dtype);
                    logits[1, at] = tensor(bad).to(dtype);
                    using var sampler = new Sampler(new GenerationOptions { Temperature = temperature });
                    Assert.Throws<NonFiniteLogitsException>(() => sampler.Next(logits));
                    // The other row alone is fine.
                    Assert.Equal(1, sampler.Next(logits.narrow(0, 0, 1)).numel());
                }
    }
}
