using System.Text.Json;

namespace LlmForge.Instruction;

/// <summary>
/// One object of a JSON array file, with what a message about it needs: the file and the entry's
/// 0-based index. Its string fields are read strictly (a field of another kind or given twice is refused).
/// </summary>
public readonly struct JsonEntry
{
    readonly JsonElement _object;

    internal JsonEntry(string path, int index, JsonElement element)
    {
        Path = path;
        Index = index;
        _object = element;
    }

    public string Path { get; }

    /// <summary>The entry's position in the array, counting from 0 (as <c>data[i]</c> in Python).</summary>
    public int Index { get; }

    /// <summary>Where a message puts the blame: the file and the entry, saying how entries are counted.</summary>
    public string Where => $"{Path}: entry {Index} (0-based)";

    /// <summary>The string field <paramref name="name"/>; missing, null or not a string is a <see cref="BadInputException"/>.</summary>
    public string Required(string name) =>
        Find(name) is { } value ? StringOf(name, value) : throw new BadInputException($"{Where}: missing \"{name}\" (expected a string)");

    /// <summary>The string field <paramref name="name"/>, or "" when it is missing or null; any other kind is a <see cref="BadInputException"/>.</summary>
    public string Optional(string name) =>
        Find(name) is { } value && value.ValueKind != JsonValueKind.Null ? StringOf(name, value) : "";

    JsonElement? Find(string name)
    {
        JsonElement? found = null;
        foreach (var property in _object.EnumerateObject())
        {
            if (property.Name != name) continue;
            // JSON lets a key repeat and a reader keep either value; refuse rather than pick one silently.
            if (found != null) throw new BadInputException($"{Where}: \"{name}\" is given twice");
            found = property.Value;
        }
        return found;
    }

    string StringOf(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new BadInputException($"{Where}: \"{name}\" must be a string, found {JsonEntries.KindOf(value)}");
}
