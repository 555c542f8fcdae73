using System.Diagnostics;
using System.Runtime.InteropServices;

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

    /// <summary>
    /// Resident memory of what is alive: after a full garbage collection (TorchSharp tensors free native
    /// memory in finalizers) and after glibc returns its free lists to the system, so that allocator
    /// caching does not read as growth.
    /// </summary>
    public static double ResidentMegabytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (OperatingSystem.IsLinux()) malloc_trim(0);
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / 1048576.0;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);
}
