using System.Diagnostics;

namespace LlmForge.Cli.Benchmarks;

/// <summary>Repeated timing and medians: these machines are noisy, so no single run is trusted.</summary>
public static class Timing
{
    public static double[] Seconds(Action action, int warmups, int runs)
    {
        for (int i = 0; i < warmups; i++) action();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        return times;
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>GFLOP/s of an n×n fp32 matrix product: the machine's practical ceiling, measured now.</summary>
    public static double MatmulGflops(int n = 2048)
    {
        using var a = TorchSharp.torch.randn(n, n);
        using var b = TorchSharp.torch.randn(n, n);
        var times = Seconds(() => TorchSharp.torch.matmul(a, b).Dispose(), 2, 7);
        return 2.0 * n * n * n / Median(times) / 1e9;
    }
}
