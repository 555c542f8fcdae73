using System.Diagnostics;

namespace LlmForge.Benchmarks;

/// <summary>Repeated timing with warm-up; medians, since these machines are noisy.</summary>
static class Measure
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

    public static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
