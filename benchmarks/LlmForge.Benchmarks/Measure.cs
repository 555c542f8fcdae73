using System.Runtime.InteropServices;

namespace LlmForge.Benchmarks;

/// <summary>Memory readings for the benchmarks (timing is the CLI's <see cref="LlmForge.Cli.Benchmarks.Timing"/>).</summary>
static class Measure
{
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
