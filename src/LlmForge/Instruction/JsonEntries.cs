using System.Text.Json;

namespace LlmForge.Instruction;

/// <summary>
/// Reads a file holding one JSON array of objects (instruction and preference data), turning each object
/// into an entry; anything else is a <see cref="BadInputException"/> naming the file and the entry.
/// </summary>
public static class JsonEntries
{
    /// <summary>
    /// The entries of <paramref name="path"/>, in file order, each made by <paramref name="make"/> (which reads
    /// the fields it needs). Not JSON, not an array, an element that is not an object, or an empty array is refused.
    /// </summary>
    public static IReadOnlyList<T> Read<T>(string path, Func<JsonEntry, T> make)
    {
        string text = TextFile.ReadUtf8(path);
        using var document = JsonInput.Parse(text, path, "expected a JSON array of objects");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new BadInputException($"{path}: expected a JSON array of objects, found {KindOf(root)}");
        var entries = new List<T>(root.GetArrayLength());
        int index = 0;
        foreach (var element in root.EnumerateArray())
        {
            var entry = new JsonEntry(path, index++, element);
            if (element.ValueKind != JsonValueKind.Object)
                throw new BadInputException($"{entry.Where}: expected an object, found {KindOf(element)}");
            entries.Add(make(entry));
        }
        if (entries.Count == 0) throw new BadInputException($"{path}: no entries (the JSON array is empty)");
        return entries;
    }

    /// <summary>A JSON value's kind in words, for messages.</summary>
    public static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
