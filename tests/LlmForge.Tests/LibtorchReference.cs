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
}
