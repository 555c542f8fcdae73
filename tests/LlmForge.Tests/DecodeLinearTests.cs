using LlmForge.Model.Native;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="DecodeLinear"/>'s one-row products against libtorch's <c>linear</c> (fp32 to float rounding, bf16 to one
/// rounding of the output), on shapes that leave tails of every kind, with and without bias, on one worker and on
/// several, reading the weights as they lie and in panels (<see cref="DecodePanels"/>); and <see cref="WeightArena"/> leaving a model's outputs and parameters as they were.
/// </summary>
public sealed class DecodeLinearTests
{
    static Tensor Reference(Tensor weight, Tensor? bias, Tensor x)
    {
        DecodeLinear.Enabled = false;
        try { return nn.functional.linear(x.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32)); }
        finally { DecodeLinear.Enabled = true; }
    }

    [Theory]
    [InlineData(5, 37, false, 1)]
    [InlineData(130, 100, true, 1)] // one row: as they lie, or in panels through the kernel for four
    [InlineData(768, 768, true, 1)]
    [InlineData(64, 3072, false, 1)]
    [InlineData(2100, 2050, true, 1)] // over 256 KB: split among threads
    [InlineData(130, 100, true, 3)] // several sequences: a group of four short by one
    [InlineData(768, 770, false, 8)]
    [InlineData(2100, 2050, true, 5)]
    [InlineData(50, 45, true, 2)] // panels: the last one short, an odd column count for bf16's pairs
    [InlineData(1000, 33, false, 16)] // two groups of eight
    [InlineData(17, 1, true, 9)]
    [InlineData(100, 96, true, 1)] // vdpbf16ps by rows: three 32-column blocks (its tail alone)
    [InlineData(33, 288, false, 1)] // nine: its loop twice and one in the tail
    public void FewRowProductsEqualLibtorchsInFp32AndBf16(int rows, int columns, bool withBias, int batch)
    {
        manual_seed(rows + columns + batch);
        using var noGrad = no_grad();
        // bf16 both by the managed kernels and by vdpbf16ps (where the processor has it).
        foreach (var (dtype, native) in new[] { (ScalarType.Float32, false), (ScalarType.BFloat16, false), (ScalarType.BFloat16, true) })
        foreach (bool inPanels in new[] { false, true })
        {
            var weight = randn(rows, columns).to(dtype);
            var bias = withBias ? randn(rows).to(dtype) : null;
            var x = randn(batch, 1, columns).to(dtype);
            Tensor ours;
            // Several rows take this path in a decoding step only.
            using (var panels = inPanels ? new DecodePanels() : null)
            using (DecodeLinear.OneThreadAround(get_num_threads(), panels))
            {
                Bf16DotKernels.Enabled = native;
                try { ours = DecodeLinear.Forward(weight, bias, x); }
                finally { Bf16DotKernels.Enabled = true; }
                Assert.Equal(inPanels, panels?.Bytes > 0);
            }
            Assert.Equal(new long[] { batch, 1, rows }, ours.shape);
            Assert.Equal(dtype, ours.dtype);
            var expected = Reference(weight, bias, x);
            // fp32: the same sum in another order; bf16: the fp32 sum rounded once to 8 bits of mantissa.
            double tolerance = dtype == ScalarType.Float32 ? 1e-4 : 1.0 / 128;
            var error = (ours.to(ScalarType.Float32) - expected).abs() / (expected.abs() + 1);
            Assert.True(error.max().item<float>() <= tolerance, $"{dtype} [{rows}x{columns}], panels {inPanels}, vdpbf16ps {native}: largest relative error {error.max().item<float>()}");
        }
    }

    [Fact]
    public void ProductsSharedWithHelperThreadsGiveTheBitsOfOneThread()
    {
        manual_seed(9);
        using var noGrad = no_grad();
        // Back-to-back products of several sizes, as a decoded token runs them: each handed to the helpers the
        // moment the last one ends, so a helper late for one product meets the next.
        var weights = new[] { (300, 512), (1024, 768), (64, 3000), (777, 333) }
            .SelectMany(s => new[] { randn(s.Item1, s.Item2), randn(s.Item1, s.Item2).to(ScalarType.BFloat16) }).ToArray();
        using var panels = new DecodePanels();
        for (int round = 0; round < 50; round++)
            foreach (var weight in weights)
                foreach (int batch in new[] { 1, 3 })
                    foreach (var inPanels in new[] { null, panels })
                    {
                        var x = randn(batch, 1, weight.size(1)).to(weight.dtype);
                        Tensor alone, shared;
                        using (DecodeLinear.OneThreadAround(1, inPanels)) alone = DecodeLinear.Forward(weight, null, x);
                        using (DecodeLinear.OneThreadAround(3, inPanels)) shared = DecodeLinear.Forward(weight, null, x);
                        Assert.True(alone.eq(shared).all().item<bool>(), $"{weight.dtype} [{weight.size(0)}x{weight.size(1)}] batch {batch}, panels {inPanels != null}, round {round}");
                    }
    }

    [Fact]
    public void ManyRowsAndGradientsGoToLibtorch()
    {
        manual_seed(2);
        var weight = randn(8, 16);
        var x = randn(DecodeLinear.MaxRows + 1, 16);
        using (no_grad())
            Assert.True(DecodeLinear.Forward(weight, null, x).allclose(Reference(weight, null, x), rtol: 1e-5, atol: 1e-6));
        var trained = randn(8, 16).requires_grad_();
        var y = DecodeLinear.Forward(trained, null, randn(1, 16));
        y.sum().backward();
        Assert.NotNull(trained.grad);
    }

    [Fact]
    public void APackedModelGivesTheSameLogitsAndKeepsItsParameters()
    {
        manual_seed(4);
        using var model = new GptModel(GptConfig.Load(TestPaths.TinyConfig));
        model.eval();
        var ids = tensor(new long[] { 40, 1807, 3619, 402 }, [1, 4]);
        using var noGrad = no_grad();
        var before = model.forward(ids);
        var parameters = model.parameters().ToList();
        var values = parameters.Select(p => p.clone()).ToList();
        Assert.True(WeightArena.Pack(model) > 0);
        Assert.Equal(parameters, model.parameters().ToList()); // the same objects
        for (int i = 0; i < parameters.Count; i++)
        {
            Assert.True(parameters[i].allclose(values[i], rtol: 0, atol: 0), $"parameter {i} changed");
            Assert.True(parameters[i].is_contiguous());
        }
        Assert.True(model.forward(ids).allclose(before, rtol: 0, atol: 0));
    }
}
