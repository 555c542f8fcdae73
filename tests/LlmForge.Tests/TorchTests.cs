namespace LlmForge.Tests;

/// <summary>libtorch loads here (including on Debian 12, through the build's patched shim) and computes.</summary>
public class TorchTests
{
    [Fact]
    public void MatrixProductMatchesHandComputedResult()
    {
        using var a = torch.tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var b = torch.tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);
        using var c = torch.matmul(a, b);
        // [[1·5+2·7, 1·6+2·8], [3·5+4·7, 3·6+4·8]]
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void AutogradComputesAGradient()
    {
        using var x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        using var y = (x * x).sum();
        y.backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray());
    }
}
