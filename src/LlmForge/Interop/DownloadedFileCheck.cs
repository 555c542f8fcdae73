using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Interop;

/// <summary>
/// Whether a downloaded file is what its name promises, for mirrors that publish no checksum and for
/// files already in the cache: a captive portal's HTML page or random bytes must never be named
/// <c>config.json</c> or <c>model.safetensors</c>. Only the config and the safetensors header are read.
/// </summary>
public static class DownloadedFileCheck
{
    /// <summary>Null when <paramref name="path"/> looks like a good <paramref name="name"/>; otherwise why not, in a few words.</summary>
    public static string? Problem(string name, string path) => name switch
    {
        "config.json" => ConfigProblem(path),
        "model.safetensors" => SafeTensorsProblem(path),
        _ => null,
    };

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
