using System.Text.Json;
using LlmForge.Data;

namespace LlmForge.Evaluation.Judge;

/// <summary>
/// Reads a responses file: a JSON array of objects with the strings <c>instruction</c>, <c>input</c> (may be
/// left out or null: no input), <c>output</c> and <c>model_response</c>, as <c>finetune instruct</c> writes
/// <c>test-responses.json</c>. Anything else is bad input naming the entry (counted from 0) and the field.
/// </summary>
public static class ResponseFile
{
    public static IReadOnlyList<ResponseEntry> Load(string path)
    {
        string text = TextFile.ReadUtf8(path);
        using var document = JsonInput.Parse(text, path, "expected a JSON array of entries");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Array)
            throw new BadInputException($"{path}: {Describe(root.ValueKind)} at the top, expected an array of entries");
        if (root.GetArrayLength() == 0) throw new BadInputException($"{path}: the array has no entries");
        var entries = new List<ResponseEntry>(root.GetArrayLength());
        int index = 0;
        foreach (var item in root.EnumerateArray())
        {
            string where = $"{path}: entry {index}";
            if (item.ValueKind != JsonValueKind.Object)
                throw new BadInputException($"{where} is {Describe(item.ValueKind)}, expected an object with instruction, input, output and model_response");
            entries.Add(new ResponseEntry(
                Field(item, "instruction", where, required: true),
                Field(item, "input", where, required: false),
                Field(item, "output", where, required: true),
                Field(item, "model_response", where, required: true)));
            index++;
        }
        return entries;
    }

    static string Field(JsonElement entry, string name, string where, bool required)
    {
        if (!entry.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            // The input is optional in Alpaca-style data; an entry without one has no "### Input" section.
            if (!required) return "";
            throw new BadInputException($"{where}: \"{name}\" is {(value.ValueKind == JsonValueKind.Null ? "null" : "missing")}, expected a string");
        }
        if (value.ValueKind != JsonValueKind.String)
            throw new BadInputException($"{where}: \"{name}\" is {Describe(value.ValueKind)}, expected a string");
        return value.GetString()!;
    }

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "null",
    };
}
