using System.Text.Json;

namespace LlmForge.Model;

/// <summary>
/// The top-level keys of a config file, read strictly for <see cref="GptConfig"/>: each key once, each value of
/// the kind it must have. A key may have two spellings (the book's and Hugging Face's); when both are given
/// they must agree. Messages name the file and the key, and say what was expected in JSON's words.
/// </summary>
sealed class ConfigKeys
{
    readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);
    readonly string _source;

    ConfigKeys(string source) => _source = source;

    public static ConfigKeys Read(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new BadInputException($"{source}: expected a JSON object");
        var keys = new ConfigKeys(source);
        foreach (var property in root.EnumerateObject())
            if (!keys._values.TryAdd(property.Name, property.Value.Clone()))
                throw new BadInputException($"{source}: the key '{property.Name}' is given more than once");
        return keys;
    }

    public bool Has(string key) => _values.ContainsKey(key);

    /// <summary>A whole number that fits 32 bits, under either spelling; null when neither is given.</summary>
    public int? Int(string book, string hf) => Agreed(book, hf, (key, value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) ? number
        : throw Wrong(key, value, value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out decimal d) && d == decimal.Truncate(d)
            ? $"an integer up to {int.MaxValue}" : "an integer"));

    public double? Double(string book, string hf) => Agreed(book, hf, (key, value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Wrong(key, value, "a number"));

    public bool? Bool(string key) => Agreed(key, key, (_, value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(key, value, "true or false"),
    });

    public string? String(string key) => !_values.TryGetValue(key, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong(key, value, "a string");

    T? Agreed<T>(string book, string hf, Func<string, JsonElement, T> read) where T : struct
    {
        T? first = _values.TryGetValue(book, out var a) ? read(book, a) : null;
        T? second = hf != book && _values.TryGetValue(hf, out var b) ? read(hf, b) : null;
        if (first is { } x && second is { } y && !EqualityComparer<T>.Default.Equals(x, y))
            throw new BadInputException($"{_source}: '{book}' ({x}) and '{hf}' ({y}) disagree; give one of them");
        return first ?? second;
    }

    BadInputException Wrong(string key, JsonElement value, string expected)
    {
        string raw = value.GetRawText();
        if (raw.Length > 40) raw = raw[..37] + "...";
        return new BadInputException($"{_source}: '{key}' must be {expected}, got {raw}");
    }
}
