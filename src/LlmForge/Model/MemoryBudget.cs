using System.Globalization;

namespace LlmForge.Model;

/// <summary>
/// Refuses work that cannot fit in memory before libtorch tries it: a failed native allocation ends in a
/// C++ trace (or the kernel's out-of-memory killer), not in a message. The estimates count only what must
/// exist at the same moment (weights, caches, the largest activations), so they are lower bounds: a refusal
/// is always right, and work that passes may still need more.
/// </summary>
public static class MemoryBudget
{
    /// <summary>
    /// Memory this process can still take: <c>MemAvailable</c> of <c>/proc/meminfo</c> where there is one,
    /// capped by the runtime's view of the machine or container limit.
    /// </summary>
    public static long AvailableBytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long? free = MemAvailable();
        if (free is long f && (limit <= 0 || f < limit)) return f;
        return limit > 0 ? limit : long.MaxValue;
    }

    /// <summary>Throws <see cref="BadInputException"/> when <paramref name="bytes"/> exceed the memory available.</summary>
    /// <param name="what">what needs the memory, as the message's subject ("the model's fp32 weights ...").</param>
    public static void Require(double bytes, string what)
    {
        long available = AvailableBytes();
        if (bytes > available)
            throw new BadInputException($"{what} would take {Format(bytes)}, and this machine has {Format(available)} of memory available");
    }

    /// <summary>fp32 weights of a model: what building <see cref="GptModel"/> allocates.</summary>
    public static double WeightBytes(GptConfig config) => (double)config.ExactParameterCount() * sizeof(float);

    /// <summary>
    /// One training step on <paramref name="batch"/> × <paramref name="context"/> tokens: weights, gradients and
    /// AdamW's two moments (16 bytes a parameter; bf16 mixed precision adds a bf16 copy and its gradients), the
    /// logits and their gradient, and per block the sixteen vectors of width emb_dim a token keeps for the
    /// backward pass (block inputs, query, key, value, attention output, the feed-forward's 4 × emb_dim twice).
    /// </summary>
    public static double TrainingBytes(GptConfig config, long batch, long context, bool mixedPrecision)
    {
        double parameters = (double)config.ExactParameterCount();
        double state = parameters * (16 + (mixedPrecision ? 4 : 0));
        double tokens = (double)batch * context;
        int activationBytes = mixedPrecision ? 2 : 4;
        double perToken = 2.0 * config.VocabSize * sizeof(float) + 16.0 * config.NLayers * config.EmbDim * activationBytes;
        return state + tokens * perToken;
    }

    /// <summary>A forward pass without gradients over <paramref name="tokens"/> positions (all rows together): the logits and their log-softmax, and the feed-forward's hidden layer.</summary>
    public static double ForwardBytes(GptConfig config, long tokens) =>
        (double)tokens * (2.0 * config.VocabSize + 4.0 * config.EmbDim) * sizeof(float);

    /// <summary>Keys and values of every block for <paramref name="positions"/> positions.</summary>
    public static double KvCacheBytes(GptConfig config, long positions, int bytesPerValue) =>
        2.0 * config.NLayers * positions * config.EmbDim * bytesPerValue;

    /// <summary>"3.7 TB", "512.0 MB": binary multiples, one decimal.</summary>
    public static string Format(double bytes)
    {
        string[] units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
        int unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes:0} bytes" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {units[unit]}");
    }

    static long? MemAvailable()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], out long kilobytes))
                    return kilobytes * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or /proc hidden: the runtime's figure stands alone.
        }
        return null;
    }
}
