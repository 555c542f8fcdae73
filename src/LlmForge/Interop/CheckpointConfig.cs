using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Interop;

/// <summary>
/// The keys a checkpoint's <c>config.json</c> holds beyond a family's hyperparameters, read the same way for every
/// family: a replaced output head (<c>output_head</c>: a classifier's size, bias, labels, and how it reads texts),
/// LoRA adapters (<c>lora</c>) and an instruction model's <c>prompt_format</c>.
/// </summary>
public static class CheckpointConfig
{
    /// <summary>An instruction-tuned model's <c>prompt_format</c> (<c>alpaca</c>), or null.</summary>
    public static string? PromptFormat(JsonObject? json, string configPath) => json?["prompt_format"] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "alpaca" => "alpaca",
        var other => throw new BadInputException($"{configPath}: 'prompt_format' {other.ToJsonString()} is not one LlmForge knows (alpaca)"),
    };

    /// <summary>A classifier's <c>padded_length</c> and <c>pooling</c> in <c>output_head</c> (both or neither).</summary>
    public static (int PaddedLength, string Pooling)? ClassifierInput(JsonObject? json, string configPath)
    {
        if (json?["output_head"] is not JsonObject head || (head["padded_length"] is null && head["pooling"] is null)) return null;
        if (head["padded_length"] is not JsonValue length || !length.TryGetValue(out int paddedLength) || paddedLength < 1
            || head["pooling"] is not JsonValue pooling || pooling.GetValueKind() != JsonValueKind.String || pooling.GetValue<string>() is not ("last" or "mean"))
            throw new BadInputException($"{configPath}: 'output_head' needs both 'padded_length' (a positive integer) and 'pooling' (\"last\" or \"mean\")");
        return (paddedLength, pooling.GetValue<string>());
    }

    /// <summary>A replaced output head's <c>size</c>, <c>bias</c> and optional <c>labels</c> (<c>output_head</c>), or null.</summary>
    public static (int Size, bool Bias, string[]? Labels)? OutputHead(JsonObject? json, string configPath)
    {
        if (json?["output_head"] is not JsonNode node) return null;
        const string expected = "{\"size\": a positive integer, \"bias\": true or false, \"labels\": [one distinct string per output] (optional)}";
        if (node is not JsonObject head
            || head["size"] is not JsonValue size || size.GetValueKind() != JsonValueKind.Number || !size.TryGetValue(out int outputs) || outputs < 1
            || head["bias"] is not JsonValue bias || !bias.TryGetValue(out bool hasBias))
            throw new BadInputException($"{configPath}: 'output_head' must be {expected}");
        if (head["labels"] is not JsonNode labelsNode) return (outputs, hasBias, null);
        if (labelsNode is not JsonArray array || array.Any(l => l is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
            throw new BadInputException($"{configPath}: 'output_head' 'labels' must be an array of strings");
        string[] labels = array.Select(l => l!.GetValue<string>()).ToArray();
        if (labels.Length != outputs)
            throw new BadInputException($"{configPath}: 'output_head' has {labels.Length} labels for a head of size {outputs}; expected one per output");
        if (labels.GroupBy(l => l, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new BadInputException($"{configPath}: 'output_head' names the label {JsonSerializer.Serialize(twice.Key)} more than once; labels must be distinct");
        return (outputs, hasBias, labels);
    }

    /// <summary>The adapters' <c>rank</c> and <c>alpha</c> (<c>lora</c>), or null.</summary>
    public static (int Rank, double Alpha)? LoRA(JsonObject? json, string configPath)
    {
        if (json?["lora"] is not JsonNode node) return null;
        if (node is not JsonObject lora
            || lora["rank"] is not JsonValue rank || rank.GetValueKind() != JsonValueKind.Number || !rank.TryGetValue(out int r) || r < 1
            || lora["alpha"] is not JsonValue alpha || alpha.GetValueKind() != JsonValueKind.Number || !alpha.TryGetValue(out double a) || !double.IsFinite(a))
            throw new BadInputException($"{configPath}: 'lora' must be {{\"rank\": a positive integer, \"alpha\": a number}}");
        return (r, a);
    }
}
