using System.Text.Json.Nodes;

namespace LlmForge.Model.Llama;

/// <summary>
/// Llama 3.1's stretch of the rotary frequencies for long contexts (<c>rope_scaling</c> with
/// <c>rope_type</c> <c>"llama3"</c>): wavelengths longer than <c>original_max_position_embeddings /
/// low_freq_factor</c> are divided by <c>factor</c>, those shorter than <c>... / high_freq_factor</c> kept,
/// and those between blended smoothly. Llama 3.2's 1B and 3B use factor 32, low 1, high 4, original 8192.
/// </summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    /// <summary>The <c>rope_scaling</c> object of <c>config.json</c>.</summary>
    public JsonObject ToJson() => new()
    {
        ["factor"] = Factor,
        ["high_freq_factor"] = HighFreqFactor,
        ["low_freq_factor"] = LowFreqFactor,
        ["original_max_position_embeddings"] = OriginalMaxPositionEmbeddings,
        ["rope_type"] = "llama3",
    };
}
