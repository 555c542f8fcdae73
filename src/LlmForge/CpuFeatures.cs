namespace LlmForge;

/// <summary>What the processor offers that changes which settings pay off.</summary>
public static class CpuFeatures
{
    /// <summary>
    /// Whether the processor has bf16 matrix instructions (AVX-512 BF16 or AMX-BF16). Without them
    /// libtorch emulates bf16 products: on this project's Xeon (Cascade Lake) they ran at about 0.3×
    /// the fp32 rate, so bf16 mixed precision is slower there. Read from /proc/cpuinfo; false elsewhere.
    /// </summary>
    public static bool HasBf16Instructions => LazyBf16.Value;

    static readonly Lazy<bool> LazyBf16 = new(() =>
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo")) return false;
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return flags != null && flags.Split(' ', ':', '\t').Any(f => f is "avx512_bf16" or "amx_bf16");
        }
        catch (IOException)
        {
            return false;
        }
    });
}
