namespace LlmForge.Tests;

/// <summary>
/// <see cref="DecodePanels"/>: a weight is copied once, on the first product of several rows, and found again after;
/// another weight gets its own copy; the copies go with the panels, and a disposed set refuses more work.
/// </summary>
public sealed class DecodePanelsTests
{
    [Fact]
    public void EachWeightIsCopiedOnceOnItsFirstProductOfSeveralRows()
    {
        manual_seed(4);
        using var noGrad = no_grad();
        var first = randn(40, 24);
        var second = randn(20, 7).to(ScalarType.BFloat16);
        using var panels = new DecodePanels();
        using (DecodeLinear.OneThreadAround(1, panels))
        {
            DecodeLinear.Forward(first, null, randn(1, 1, 24));
            Assert.Equal(0, panels.Bytes); // one row reads the weights as they lie
            var once = DecodeLinear.Forward(first, null, randn(3, 1, 24));
            // Three panels of 16 rows (the last padded), 24 fp32 columns each.
            Assert.Equal(3L * 16 * 24 * 4, panels.Bytes);
            var x = randn(4, 1, 24);
            var again = DecodeLinear.Forward(first, null, x);
            Assert.Equal(3L * 16 * 24 * 4, panels.Bytes);
            DecodeLinear.Forward(second, null, randn(2, 1, 7).to(ScalarType.BFloat16));
            // Two panels, 7 columns padded to 4 pairs of bf16.
            Assert.Equal(3L * 16 * 24 * 4 + 2L * 16 * 8 * 2, panels.Bytes);
            Assert.True(again.allclose(nn.functional.linear(x, first), rtol: 1e-5, atol: 1e-5));
        }
    }

    [Fact]
    public void DisposedPanelsRefuseWorkAndFreeTheirCopies()
    {
        using var noGrad = no_grad();
        var weight = randn(16, 8);
        var panels = new DecodePanels();
        using (DecodeLinear.OneThreadAround(1, panels)) DecodeLinear.Forward(weight, null, randn(2, 1, 8));
        Assert.True(panels.Bytes > 0);
        panels.Dispose();
        Assert.Equal(0, panels.Bytes);
        using (DecodeLinear.OneThreadAround(1, panels))
            Assert.Throws<ObjectDisposedException>(() => DecodeLinear.Forward(weight, null, randn(2, 1, 8)));
    }
}
