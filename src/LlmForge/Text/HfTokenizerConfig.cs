using System.Text.Json;

namespace LlmForge.Text;

/// <summary>
/// What a Hugging Face <c>tokenizer_config.json</c> adds to <c>tokenizer.json</c>: the names of the begin, end
/// and padding tokens, whether a begin/end token is added to every encoded text, and the chat template.
/// Tokens are written as strings or as <c>{"content": ...}</c> objects (older files); other keys are ignored.
/// </summary>
public sealed record HfTokenizerConfig(string Path, string? BosToken, string? EosToken, string? PadToken,
    bool? AddBos, bool? AddEos, string? ChatTemplate)
{
    /// <summary>The file at <paramref name="path"/>, or null when there is none.</summary>
    public static HfTokenizerConfig? Read(string path)
    {
        if (!File.Exists(path)) return null;
        InputFile.RequireRegular(path, "a tokenizer_config.json file");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: not valid JSON ({e.Message.ReplaceLineEndings(" ")})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw HfTokenizerJson.Bad(path, "", "expected a JSON object");
            return new HfTokenizerConfig(path, Token(path, root, "bos_token"), Token(path, root, "eos_token"), Token(path, root, "pad_token"),
                Flag(path, root, "add_bos_token"), Flag(path, root, "add_eos_token"), Template(path, root));
        }
    }

    static string? Token(string path, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => throw HfTokenizerJson.Bad(path, key, "expected a token's text (a string or an object with \"content\")"),
        };
    }

    static bool? Flag(string path, JsonElement root, string key)
    {
        if (!root.TryGetProperty(key, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw HfTokenizerJson.Bad(path, key, "expected true or false"),
        };
    }

    /// <summary>The template: a string, or a list of named templates of which "default" is taken.</summary>
    static string? Template(string path, JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Array)
            foreach (var named in value.EnumerateArray())
                if (named.ValueKind == JsonValueKind.Object && named.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                    && name.GetString() == "default" && named.TryGetProperty("template", out var template) && template.ValueKind == JsonValueKind.String)
                    return template.GetString();
        if (value.ValueKind == JsonValueKind.Array) return null;
        throw HfTokenizerJson.Bad(path, "chat_template", "expected a string or a list of {\"name\", \"template\"}");
    }
}
