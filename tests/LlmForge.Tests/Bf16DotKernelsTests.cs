using LlmForge.Model.Native;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="Bf16DotKernels"/> (vdpbf16ps, assembled at run time) against sums in double precision, for every path
/// through the kernels' loops: rows of 1-9 blocks of 32 columns (the four-block loop and its tail), panels of 1-5 column
/// pairs (the two-step loop and an odd last step), 1-8 inputs, several panels and rows a call. And each input's sums are
/// the same bits whatever the other inputs. Skipped, saying so, on processors without AVX-512 BF16.
/// </summary>
public sealed unsafe class Bf16DotKernelsTests
{
    /// <summary>A bf16 near <paramref name="value"/> (cut, not rounded: any bf16 will do).</summary>
    static ushort ToBf16(double value) => (ushort)(BitConverter.SingleToUInt32Bits((float)value) >> 16);

    static double Widen(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    static ushort[] RandomBf16(Random random, int count) => Enumerable.Range(0, count).Select(_ => ToBf16(random.NextDouble() * 4 - 2)).ToArray();

    /// <summary>fp32 sums in some order: within 1e-5 of the products' total magnitude (a wrong pairing is off by whole products).</summary>
    static void AssertClose(double expected, float actual, double magnitude, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-5 * (magnitude + 1), $"{what}: {actual}, expected {expected}");

    [SkippableTheory]
    [InlineData(1, 32)]
    [InlineData(3, 96)]     // three blocks: the tail alone
    [InlineData(5, 128)]    // four: the loop once, no tail
    [InlineData(70, 288)]   // nine: the loop twice and one in the tail
    [InlineData(64, 768)]
    public void RowsGiveEachRowsDotProduct(int rows, int columns)
    {
        Skip.IfNot(Bf16DotKernels.Available, "this processor has no AVX-512 BF16 (or this is not Linux x64)");
        var random = new Random(rows * 1000 + columns);
        var w = RandomBf16(random, rows * columns);
        var x = RandomBf16(random, columns);
        var sums = new float[rows + 1];
        sums[rows] = 12345; // past the end: untouched
        fixed (ushort* wp = w, xp = x)
        fixed (float* sp = sums)
            Bf16DotKernels.Rows(wp, xp, columns, sp, rows);
        for (int r = 0; r < rows; r++)
        {
            double expected = 0, magnitude = 0;
            for (int k = 0; k < columns; k++)
            {
                double product = Widen(w[r * columns + k]) * Widen(x[k]);
                expected += product;
                magnitude += Math.Abs(product);
            }
            AssertClose(expected, sums[r], magnitude, $"row {r}");
        }
        Assert.Equal(12345, sums[rows]);
    }

    [SkippableTheory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 2, 3)]
    [InlineData(3, 3, 8)]
    [InlineData(4, 5, 5)]
    [InlineData(2, 384, 8)]
    public void PanelsGiveEachInputsSixteenDotProducts(int panels, int pairs, int inputs)
    {
        Skip.IfNot(Bf16DotKernels.Available, "this processor has no AVX-512 BF16 (or this is not Linux x64)");
        var random = new Random(panels * 100 + pairs * 10 + inputs);
        // Panels: [panel][pair][16 rows][2 columns]; inputs: [pair][8 slots][2 columns].
        var w = RandomBf16(random, panels * pairs * 32);
        var x = RandomBf16(random, pairs * Bf16DotKernels.MaxInputs * 2);
        var sums = new float[panels * inputs * 16 + 1];
        sums[^1] = 12345;
        fixed (ushort* wp = w, xp = x)
        fixed (float* sp = sums)
            Bf16DotKernels.Panels(inputs, wp, (uint*)xp, pairs, sp, panels);
        for (int q = 0; q < panels; q++)
            for (int b = 0; b < inputs; b++)
                for (int row = 0; row < 16; row++)
                {
                    double expected = 0, magnitude = 0;
                    for (int j = 0; j < pairs; j++)
                        for (int half = 0; half < 2; half++)
                        {
                            double product = Widen(w[((q * pairs + j) * 16 + row) * 2 + half]) * Widen(x[(j * Bf16DotKernels.MaxInputs + b) * 2 + half]);
                            expected += product;
                            magnitude += Math.Abs(product);
                        }
                    AssertClose(expected, sums[(q * inputs + b) * 16 + row], magnitude, $"panel {q}, input {b}, row {row}");
                }
        Assert.Equal(12345, sums[^1]);
    }

    [SkippableFact]
    public void AnInputsSumsAreTheSameBitsWhateverTheOtherInputs()
    {
        Skip.IfNot(Bf16DotKernels.Available, "this processor has no AVX-512 BF16 (or this is not Linux x64)");
        var random = new Random(3);
        const int Panels = 2, Pairs = 37;
        var w = RandomBf16(random, Panels * Pairs * 32);
        var x = RandomBf16(random, Pairs * Bf16DotKernels.MaxInputs * 2);
        fixed (ushort* wp = w, xp = x)
        {
            var all = new float[Panels * Bf16DotKernels.MaxInputs * 16];
            fixed (float* sp = all) Bf16DotKernels.Panels(Bf16DotKernels.MaxInputs, wp, (uint*)xp, Pairs, sp, Panels);
            for (int inputs = 1; inputs < Bf16DotKernels.MaxInputs; inputs++)
            {
                var some = new float[Panels * inputs * 16];
                fixed (float* sp = some) Bf16DotKernels.Panels(inputs, wp, (uint*)xp, Pairs, sp, Panels);
                for (int q = 0; q < Panels; q++)
                    for (int b = 0; b < inputs; b++)
                        for (int row = 0; row < 16; row++)
                            Assert.Equal(BitConverter.SingleToInt32Bits(all[(q * Bf16DotKernels.MaxInputs + b) * 16 + row]),
                                BitConverter.SingleToInt32Bits(some[(q * inputs + b) * 16 + row]));
            }
        }
    }

    [SkippableFact]
    public void DecodeProductsAgreeWithAndWithoutTheKernels()
    {
        Skip.IfNot(Bf16DotKernels.Available, "this processor has no AVX-512 BF16 (or this is not Linux x64)");
        manual_seed(12);
        using var noGrad = no_grad();
        var weight = randn(300, 768).to(ScalarType.BFloat16);
        var bias = randn(300).to(ScalarType.BFloat16);
        foreach (int batch in new[] { 1, 5, 8 })
        {
            var x = randn(batch, 1, 768).to(ScalarType.BFloat16);
            Tensor native, managed;
            using var panels = batch > 1 ? new DecodePanels() : null; // one row reads the weights as they lie
            using (DecodeLinear.OneThreadAround(1, panels))
            {
                native = DecodeLinear.Forward(weight, bias, x);
                Bf16DotKernels.Enabled = false;
                try { managed = DecodeLinear.Forward(weight, bias, x); }
                finally { Bf16DotKernels.Enabled = true; }
            }
            // The same fp32 sums in another order, each rounded once to bf16: at most one step of bf16 apart.
            var (a, m) = (native.to(ScalarType.Float32), managed.to(ScalarType.Float32));
            var step = m.abs() / 128 + 1e-30;
            Assert.True(((a - m).abs() <= step).all().item<bool>(), $"batch {batch}: largest difference {(a - m).abs().max().item<float>()}");
            Assert.True(a.ne(m).sum().item<long>() < a.numel() / 10, $"batch {batch}: most outputs should round to the same bf16"); // a broken kernel differs almost everywhere
        }
    }
}
