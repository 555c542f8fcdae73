using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>
/// Whether a downloaded file is what its name promises, for mirrors that publish no checksum and for
/// files already in the cache: a captive portal's HTML page or random bytes must never be named
/// <c>config.json</c> or <c>model.safetensors</c>. Only JSON files and safetensors headers are read.
/// </summary>
public static partial class DownloadedFileCheck
{
    /// <summary>Null when <paramref name="path"/> looks like a good <paramref name="name"/>; otherwise why not, in a few words.</summary>
    public static string? Problem(string name, string path) => name switch
    {
        "config.json" => ConfigProblem(path),
        "model.safetensors" => SafeTensorsProblem(path),
        _ => null,
    };

    /// <summary>
    /// As <see cref="Problem"/>, for a file of any model's Hugging Face repository: a config with a
    /// <c>model_type</c>, a tokenizer with a <c>model</c>, a weight index whose shards are plain
    /// <c>.safetensors</c> names beside it, whole safetensors files, JSON objects for the other JSON files.
    /// </summary>
    public static string? RepoFileProblem(string name, string path) => name switch
    {
        "config.json" => JsonProblem(path, 1 << 20, "a model config", root =>
            root.TryGetProperty("model_type", out var type) && type.ValueKind == JsonValueKind.String ? null : "no \"model_type\""),
        "tokenizer.json" => JsonProblem(path, 512 << 20, "a tokenizer", root =>
            root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object ? null : "no \"model\" object"),
        IndexFile => JsonProblem(path, 256 << 20, "a safetensors index", root => ShardsOf(root, out _)),
        _ when name.EndsWith(".safetensors", StringComparison.Ordinal) => SafeTensorsProblem(path),
        _ when name.EndsWith(".json", StringComparison.Ordinal) => JsonProblem(path, 64 << 20, "a JSON object", _ => null),
        _ => null,
    };

    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>The shard files a <c>model.safetensors.index.json</c> names, in order; bad input naming the file when it is not a usable index.</summary>
    public static IReadOnlyList<string> Shards(string indexPath)
    {
        if (RepoFileProblem(IndexFile, indexPath) is string problem) throw new BadInputException($"{indexPath}: not a usable {IndexFile} ({problem})");
        using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        ShardsOf(document.RootElement, out var shards);
        return shards;
    }

    /// <summary>Null when <paramref name="root"/> has a <c>weight_map</c> of tensor names to shard file names; the shards, distinct and sorted.</summary>
    static string? ShardsOf(JsonElement root, out List<string> shards)
    {
        shards = [];
        if (!root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object) return "no \"weight_map\" object";
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            // A shard must be a file beside the index: a name such as ../../.bashrc must never be fetched or opened.
            if (entry.Value.ValueKind != JsonValueKind.String || !ShardName().IsMatch(entry.Value.GetString()!))
                return $"weight_map gives {entry.Value.GetRawText()} for '{entry.Name}': expected a file name ending in .safetensors, beside the index";
            names.Add(entry.Value.GetString()!);
        }
        if (names.Count == 0) return "weight_map names no tensor";
        shards = [.. names];
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.safetensors$")]
    private static partial Regex ShardName();

    /// <summary>A JSON object no longer than <paramref name="limit"/> that <paramref name="check"/> accepts.</summary>
    static string? JsonProblem(string path, long limit, string what, Func<JsonElement, string?> check)
    {
        long length = new FileInfo(path).Length;
        if (length > limit) return $"{length:N0} bytes is far too long for {what}";
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return "not a JSON object" + Beginning(bytes);
            return check(document.RootElement) is string problem ? $"not {what}: {problem}" : null;
        }
        catch (JsonException)
        {
            return "not JSON" + Beginning(bytes);
        }
    }

    static readonly string[] RequiredConfigKeys = ["vocab_size", "n_embd", "n_layer", "n_head"];

    static string? ConfigProblem(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > 1 << 20) return $"{length:N0} bytes is far too long for a model config";
        byte[] bytes = File.ReadAllBytes(path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(bytes);
        }
        catch (JsonException)
        {
            return "not JSON" + Beginning(bytes);
        }
        if (root is not JsonObject config) return "not a JSON object" + Beginning(bytes);
        foreach (string key in RequiredConfigKeys)
            if (!IsPositiveInteger(config[key])) return $"not a GPT-2 config: no positive integer {key}";
        if (!IsPositiveInteger(config["n_positions"]) && !IsPositiveInteger(config["n_ctx"]))
            return "not a GPT-2 config: no positive integer n_positions or n_ctx";
        return null;
    }

    static bool IsPositiveInteger(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<long>(out long number) && number > 0;

    static string? SafeTensorsProblem(string path)
    {
        try
        {
            using var file = SafeTensorsFile.Open(path);
            if (file.Names.Count == 0) return "not a model: the safetensors header names no tensor";
            if (!file.FillsItsData) return $"not a whole safetensors file: its tensors do not fill its {file.DataLength:N0} data bytes exactly (cut short, or bytes added)";
            return null;
        }
        catch (BadInputException e)
        {
            // The reader's message starts with the path, which the caller names already.
            string why = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            var start = new byte[Math.Min(new FileInfo(path).Length, 41)];
            using (var stream = File.OpenRead(path)) stream.ReadExactly(start);
            return $"not safetensors: {why}" + Beginning(start);
        }
    }

    /// <summary>The start of a text-like file, which often says what it really is (an HTML login page, an error).</summary>
    static string Beginning(byte[] bytes)
    {
        var text = new StringBuilder();
        const int shown = 40;
        foreach (byte b in bytes.AsSpan(0, Math.Min(bytes.Length, shown)))
        {
            if (b is (byte)'\n' or (byte)'\r' or (byte)'\t') text.Append(' ');
            else if (b is >= 0x20 and < 0x7f) text.Append((char)b);
            else return ""; // binary: its bytes would say nothing
        }
        string start = text.ToString().Trim();
        return start.Length == 0 ? "" : $"; it begins \"{start}{(bytes.Length > shown ? "..." : "")}\"";
    }
}
