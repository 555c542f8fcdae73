using LlmForge.Model.Llama;

namespace LlmForge.Tests;

/// <summary>
/// The one-pass paths a decoding step takes instead of libtorch's small operations, against libtorch's (the same
/// modules with <see cref="DecodeLinear.Enabled"/> off): rotary embeddings bit for bit (they round where libtorch
/// rounds), RMSNorm to float rounding (fp32: a few units in the last place; bf16: its two roundings), in fp32 and
/// bf16, for one sequence and several.
/// </summary>
public sealed class DecodeStepOpsTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void RotaryEmbeddingsOfADecodingStepAreLibtorchsBits(ScalarType dtype)
    {
        manual_seed(5);
        using var noGrad = no_grad();
        using var rope = new RotaryEmbedding(64, 4096, 500_000, new Llama3RopeScaling(32, 1, 4, 8192));
        var x = (randn(3, 8, 1, 64) * 3).to(dtype);
        foreach (long start in new long[] { 0, 1, 517, 4095 })
        {
            var ours = rope.Apply(x, start);
            var expected = LibtorchReference.Run(() => rope.Apply(x, start));
            Assert.Equal(dtype, ours.dtype);
            Assert.True(ours.eq(expected).all().item<bool>(), $"{dtype} at {start}");
        }
        // Several sequences, each at its own position.
        long[] starts = [3, 0, 2048];
        Assert.True(rope.Apply(x, starts).eq(LibtorchReference.Run(() => rope.Apply(x, starts))).all().item<bool>());
        // A prompt's positions (several a sequence) stay with libtorch, and agree with the rows one at a time.
        var prompt = randn(1, 8, 5, 64).to(dtype);
        var whole = rope.Apply(prompt, 10);
        for (int t = 0; t < 5; t++)
            Assert.True(whole.narrow(2, t, 1).eq(rope.Apply(prompt.narrow(2, t, 1).contiguous(), 10 + t)).all().item<bool>());
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-6)]
    [InlineData(ScalarType.BFloat16, 1.0 / 64)] // the normalised value and its product with the scale each rounded to 8 bits
    public void RmsNormOfADecodingStepIsLibtorchsToRounding(ScalarType dtype, double tolerance)
    {
        manual_seed(6);
        using var noGrad = no_grad();
        using var norm = new RmsNorm(1024, 1e-6, dtype);
        norm.scale.copy_(rand(1024) + 0.5);
        foreach (var shape in new long[][] { [1, 1, 1024], [1, 1, 16, 1024], [4, 1, 1024] })
        {
            var x = (randn(shape) * 5).to(dtype);
            var ours = norm.forward(x);
            var expected = LibtorchReference.Run(() => norm.forward(x));
            Assert.Equal(dtype, ours.dtype);
            Assert.Equal(expected.shape, ours.shape);
            var error = (ours.to(ScalarType.Float32) - expected.to(ScalarType.Float32)).abs() / (expected.to(ScalarType.Float32).abs() + 1e-3);
            Assert.True(error.max().item<float>() <= tolerance, $"{dtype} [{string.Join(", ", shape)}]: {error.max().item<float>()}");
        }
    }
}
