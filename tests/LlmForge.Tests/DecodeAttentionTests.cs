using LlmForge.Model.Attention;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="DecodeAttention"/> against libtorch's fused attention, over views of a KV cache's buffers as
/// <see cref="LayerKvCache"/> hands them out: several query heads per key/value head, head sizes with tails, one to
/// hundreds of cached positions, two sequences, fp32 (float rounding) and bf16 (one rounding of the output).
/// </summary>
public sealed class DecodeAttentionTests
{
    [Theory]
    [InlineData(1, 4, 1, 64, 1)]      // GPT: one query per head, a single cached position
    [InlineData(1, 8, 2, 128, 540)]   // Qwen3-0.6B's heads after a long prompt
    [InlineData(2, 2, 3, 40, 77)]     // two sequences, a head size with a tail, an odd length
    [InlineData(1, 3, 4, 24, 300)]
    [InlineData(2, 2, 2, 80, 77)]     // bf16 in pairs: 64 values and 16 more a row; four keys at a time and 1 left
    [InlineData(1, 2, 1, 16, 6)]      // bf16 in pairs: 16 values only; four keys and 2 left
    public void OneQueryPositionOverTheCacheEqualsLibtorchs(int batch, int groups, int perGroup, int dim, int length)
    {
        manual_seed(batch * 1000 + length);
        using var noGrad = no_grad();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var scope = NewDisposeScope();
            // The cache's buffers hold more positions than are filled; attention sees the filled ones.
            var keys = (randn(batch, groups, length + 50, dim) * 2).to(dtype).narrow(2, 0, length);
            var values = randn(batch, groups, length + 50, dim).to(dtype).narrow(2, 0, length);
            var queries = randn(batch, groups, perGroup, dim).to(dtype);
            Assert.False(keys.is_contiguous());
            var ours = DecodeAttention.TryAttend(queries, keys, values);
            Assert.NotNull(ours);
            Assert.Equal(new long[] { batch, groups, perGroup, dim }, ours.shape);
            Assert.Equal(dtype, ours.dtype);
            var expected = nn.functional.scaled_dot_product_attention(
                queries.to(ScalarType.Float32), keys.to(ScalarType.Float32), values.to(ScalarType.Float32));
            double tolerance = dtype == ScalarType.Float32 ? 1e-5 : 1.0 / 128;
            var error = (ours.to(ScalarType.Float32) - expected).abs() / (expected.abs() + 1);
            Assert.True(error.max().item<float>() <= tolerance, $"{dtype}: largest relative error {error.max().item<float>()}");
        }
    }

    [Fact]
    public void ItStepsAsideForGradientsAndOtherLayouts()
    {
        var queries = randn(1, 2, 1, 16);
        var keys = randn(1, 2, 5, 16);
        Assert.Null(DecodeAttention.TryAttend(queries, keys, keys)); // gradients are on outside no_grad
        using var noGrad = no_grad();
        Assert.NotNull(DecodeAttention.TryAttend(queries, keys, keys));
        Assert.Null(DecodeAttention.TryAttend(queries, keys.transpose(2, 3).contiguous().transpose(2, 3), keys)); // rows not contiguous
        Assert.Null(DecodeAttention.TryAttend(queries.to(ScalarType.Float16), keys.to(ScalarType.Float16), keys.to(ScalarType.Float16)));
    }
}
