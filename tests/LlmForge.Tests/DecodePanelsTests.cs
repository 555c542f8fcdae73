using LlmForge.Model.Native;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="DecodePanels"/>: a row's result is the same bits whatever the rows beside it (one alone included), so a
/// server's request does not depend on what else runs; a weight is copied once and found again; the copies go with
/// the panels, and a disposed set refuses more work.
/// </summary>
public sealed class DecodePanelsTests
{
    [Theory]
    [InlineData(ScalarType.Float32, false)]
    [InlineData(ScalarType.BFloat16, false)]
    [InlineData(ScalarType.BFloat16, true)] // vdpbf16ps, where the processor has it
    public void ARowGetsTheSameBitsAloneAndBesideOthers(ScalarType dtype, bool native)
    {
        manual_seed(6);
        using var noGrad = no_grad();
        var weight = randn(70, 45).to(dtype);
        var bias = randn(70).to(dtype);
        var x = randn(16, 1, 45).to(dtype);
        using var panels = new DecodePanels();
        using var scope = DecodeLinear.OneThreadAround(1, panels);
        using var kernels = new Bf16Kernels(native);
        var together = DecodeLinear.Forward(weight, bias, x);
        // Alone, and in batches of every size from 2 (the kernel for four) to 16 (two groups of eight).
        for (int b = 0; b < 16; b++)
            Assert.True(DecodeLinear.Forward(weight, bias, x[b..(b + 1)]).eq(together[b..(b + 1)]).all().item<bool>(), $"row {b} alone");
        for (int size = 2; size <= 16; size++)
        {
            var part = DecodeLinear.Forward(weight, bias, x[..size]);
            Assert.True(part.eq(together[..size]).all().item<bool>(), $"the first {size} rows");
        }
    }

    [Theory]
    [InlineData(16, false)] // one whole panel
    [InlineData(19, false)] // and a short one
    [InlineData(16, true)]  // the same by vdpbf16ps
    [InlineData(19, true)]
    public void Bf16OutputsRoundAsLibtorchRoundsThem(int rows, bool native)
    {
        using var kernels = new Bf16Kernels(native);
        using var noGrad = no_grad();
        // One column times 1, plus the bias: each sum exact in fp32, so only the rounding to bf16 is tested. Halfway
        // cases (1 + 2^-8 lies between two bf16 values) go to the even one; NaN, infinities and the largest values too.
        float[] weights = [1, 1, 1, 1, -1, 2, 0.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3.3e38f, -3.3e38f, 1, 1e-30f, 7, 1, 1, 1, 1];
        float[] biases = [0.00390625f, 0.01171875f, -0.00390625f, 0.001953125f, 0.0009765625f, 0.0234375f, 0, 1, 1, 1, 2e36f, -2e36f, float.NaN, 1e-30f, 0.02734375f, 0.001953125f, 0.005859375f, 0.0078125f, -0.01171875f];
        var weight = tensor(weights[..rows], [rows, 1]).to(ScalarType.BFloat16);
        var bias = tensor(biases[..rows]).to(ScalarType.BFloat16);
        var x = ones(3, 1, 1, dtype: ScalarType.BFloat16);
        using var panels = new DecodePanels();
        Tensor ours;
        using (DecodeLinear.OneThreadAround(1, panels)) ours = DecodeLinear.Forward(weight, bias, x);
        var expected = nn.functional.linear(x.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias.to(ScalarType.Float32)).to(ScalarType.BFloat16);
        // bf16 widens exactly, so equal fp32 values are equal bf16 bits; a NaN is a NaN whatever its payload.
        var (a, e) = (ours.to(ScalarType.Float32).flatten().data<float>().ToArray(), expected.to(ScalarType.Float32).flatten().data<float>().ToArray());
        for (int i = 0; i < e.Length; i++)
            Assert.True(float.IsNaN(e[i]) ? float.IsNaN(a[i]) : BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(e[i]), $"output {i}: {a[i]}, libtorch {e[i]}");
        Assert.Contains(e, float.IsNaN);
        Assert.Contains(e, float.IsPositiveInfinity);
    }

    [Fact]
    public void EachWeightIsCopiedOnceOnItsFirstProduct()
    {
        manual_seed(4);
        using var noGrad = no_grad();
        var first = randn(40, 24);
        var second = randn(20, 7).to(ScalarType.BFloat16);
        using var panels = new DecodePanels();
        DecodeLinear.Forward(first, null, randn(1, 1, 24));
        Assert.Equal(0, panels.Bytes); // outside the scope nothing reads the panels
        using (DecodeLinear.OneThreadAround(1, panels))
        {
            DecodeLinear.Forward(first, null, randn(1, 1, 24));
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

    /// <summary>bf16 products on this thread by vdpbf16ps (where the processor has it) or by the managed kernels, until disposed.</summary>
    sealed class Bf16Kernels : IDisposable
    {
        public Bf16Kernels(bool native) => Bf16DotKernels.Enabled = native;

        public void Dispose() => Bf16DotKernels.Enabled = true;
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
