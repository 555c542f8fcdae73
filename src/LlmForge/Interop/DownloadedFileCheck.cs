using System.Buffers.Binary;
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
        using var stream = File.OpenRead(path);
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8) return $"{fileLength} bytes is too short for a safetensors file";
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > 100_000_000 || (long)headerLength > fileLength - 8)
        {
            var start = new byte[Math.Min(fileLength, 41)];
            stream.Position = 0;
            stream.ReadExactly(start);
            return $"not safetensors: a header of {headerLength} bytes does not fit a file of {fileLength:N0} bytes" + Beginning(start);
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;

        JsonObject root;
        try
        {
            root = JsonNode.Parse(header) as JsonObject ?? throw new JsonException();
        }
        catch (JsonException)
        {
            return "not safetensors: the header is not a JSON object";
        }
        var ranges = new List<(long Begin, long End, string Name)>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__") continue;
            if (node is not JsonObject entry || entry["dtype"] is not JsonValue dtype || !dtype.TryGetValue<string>(out string? dtypeName)
                || ElementSize(dtypeName) is not long elementSize
                || entry["shape"] is not JsonArray shape || entry["data_offsets"] is not JsonArray { Count: 2 } offsets
                || !TryLong(offsets[0], out long begin) || !TryLong(offsets[1], out long end))
                return $"tensor '{name}' lacks a known dtype, a shape or two data offsets";
            long bytes = elementSize;
            foreach (var dimension in shape)
            {
                if (!TryLong(dimension, out long size) || size < 0) return $"tensor '{name}' has a bad shape";
                bytes = size == 0 ? 0 : bytes > long.MaxValue / size ? -1 : bytes * size;
                if (bytes < 0) return $"tensor '{name}' has a shape too large for any file";
            }
            if (begin < 0 || end < begin || end > dataLength)
                return $"tensor '{name}' has data offsets [{begin}, {end}) outside the {dataLength:N0} data bytes";
            if (end - begin != bytes)
                return $"tensor '{name}' needs {bytes:N0} bytes, its offsets give {end - begin:N0}";
            ranges.Add((begin, end, name));
        }
        if (ranges.Count == 0) return "not a model: the safetensors header names no tensor";
        // The format leaves no holes: the tensors, in offset order, cover the data bytes exactly.
        long covered = 0;
        foreach (var (begin, end, name) in ranges.OrderBy(r => r.Begin).ThenBy(r => r.End))
        {
            if (begin != covered) return $"tensor '{name}' starts at byte {begin:N0} of the data, expected {covered:N0}";
            covered = end;
        }
        if (covered != dataLength) return $"the tensors cover {covered:N0} of the {dataLength:N0} data bytes";
        return null;
    }

    static bool TryLong(JsonNode? node, out long value)
    {
        value = 0;
        return node is JsonValue number && number.TryGetValue(out value);
    }

    static long? ElementSize(string? dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => null,
    };

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
