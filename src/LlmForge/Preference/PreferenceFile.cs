using System.Text.Json;

namespace LlmForge.Preference;

/// <summary>
/// A JSON array of preference pairs: objects with string fields <c>instruction</c>, <c>chosen</c> and
/// <c>rejected</c>, and optionally <c>input</c> (missing or null: no input) and <c>output</c>. Other
/// fields are ignored. Anything else is a <see cref="BadInputException"/> naming the file, the entry
/// (its index in the array, from 0) and the field.
/// </summary>
public static class PreferenceFile
{
    const string Expected = "expected a JSON array of objects with \"instruction\", \"chosen\" and \"rejected\" strings";

    public static IReadOnlyList<PreferenceEntry> Read(string path)
    {
        string text = TextFile.ReadUtf8(path);
        using var document = JsonInput.Parse(text, path, Expected);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new BadInputException($"{path}: the file holds {Kind(root.ValueKind)}; {Expected}");
        var entries = new List<PreferenceEntry>(root.GetArrayLength());
        foreach (var element in root.EnumerateArray()) entries.Add(Entry(path, entries.Count, element));
        if (entries.Count == 0) throw new BadInputException($"{path}: the array is empty; {Expected}");
        return entries;
    }

    static PreferenceEntry Entry(string path, int index, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new BadInputException($"{path}: entry {index}: is {Kind(element.ValueKind)}, expected an object with \"instruction\", \"chosen\" and \"rejected\"");
        string instruction = Required(path, index, element, "instruction");
        if (string.IsNullOrWhiteSpace(instruction)) throw new BadInputException($"{path}: entry {index}: \"instruction\" is empty");
        return new PreferenceEntry(
            instruction,
            Optional(path, index, element, "input") ?? "",
            Required(path, index, element, "chosen"),
            Required(path, index, element, "rejected"),
            Optional(path, index, element, "output"),
            index);
    }

    static string Required(string path, int index, JsonElement entry, string field) =>
        Optional(path, index, entry, field, required: true)!;

    /// <summary>The field's string; null when it is missing or null (unless <paramref name="required"/>).</summary>
    static string? Optional(string path, int index, JsonElement entry, string field, bool required = false)
    {
        if (!entry.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (!required) return null;
            string what = value.ValueKind == JsonValueKind.Null ? "is null" : "is missing";
            throw new BadInputException($"{path}: entry {index}: \"{field}\" {what}, expected a string");
        }
        if (value.ValueKind != JsonValueKind.String)
            throw new BadInputException($"{path}: entry {index}: \"{field}\" is {Kind(value.ValueKind)}, expected a string");
        return value.GetString()!;
    }

    static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
