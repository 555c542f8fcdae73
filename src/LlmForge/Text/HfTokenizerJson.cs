using System.Text;
using System.Text.Json;

namespace LlmForge.Text;

/// <summary>One entry of <c>added_tokens</c>: text matched before anything else and given its own id.</summary>
public sealed record HfAddedToken(int Id, string Content, bool Special, bool Normalized, bool LStrip, bool RStrip);

/// <summary>
/// What a Hugging Face <c>tokenizer.json</c> (and the <c>tokenizer_config.json</c> beside it, when there is one)
/// says about a byte-level BPE tokenizer, checked: the vocabulary and merges, the added tokens, the normalizer,
/// the pre-tokenizer's regular expressions, the ids the post-processor puts around a text, and the names of the
/// begin, end and padding tokens. Anything else (another model type, a step this project does not implement, a
/// merge naming an unknown token) is a <see cref="BadInputException"/> naming the file and the key.
/// </summary>
public sealed class HfTokenizerJson
{
    /// <summary>The regular expression of GPT-2's byte-level pre-tokenizer (<c>ByteLevel</c> with <c>use_regex</c>).</summary>
    public const string ByteLevelPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public required string Path { get; init; }
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<(string Left, string Right)> Merges { get; init; }
    /// <summary>A piece that is a whole token of the vocabulary is taken as it is, without merging (Llama 3).</summary>
    public bool IgnoreMerges { get; init; }
    public required List<HfAddedToken> AddedTokens { get; init; }
    /// <summary>Unicode normalizations applied in order to the text between added tokens (Qwen: NFC).</summary>
    public required List<NormalizationForm> Normalizers { get; init; }
    /// <summary>The pre-tokenizer's regular expressions in order; each cuts every piece of the one before into pieces (matches and the text between them).</summary>
    public required List<string> SplitPatterns { get; init; }
    /// <summary>The ids the post-processor's template puts before and after a text (a BOS id, for instance).</summary>
    public required int[] PrefixIds { get; init; }
    public required int[] SuffixIds { get; init; }

    /// <summary>From tokenizer_config.json: the tokens named <c>bos_token</c>, <c>eos_token</c>, <c>pad_token</c> (null when not named).</summary>
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }
    /// <summary>The Jinja chat template of tokenizer_config.json (or chat_template.jinja); null when there is none.</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>The tokenizer_config.json read, or null when the directory has none.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Reads <paramref name="tokenizerJsonPath"/> and, beside it, tokenizer_config.json and chat_template.jinja when present.</summary>
    public static HfTokenizerJson Read(string tokenizerJsonPath)
    {
        string path = tokenizerJsonPath;
        InputFile.RequireRegular(path, "a tokenizer.json file");
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        using var document = Parse(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Bad(path, "", "expected a JSON object");

        var model = Required(path, root, "model", JsonValueKind.Object);
        string type = RequiredString(path, model, "model.type", "type");
        if (type != "BPE") throw Bad(path, "model.type", $"is '{type}'; only byte-level BPE (\"BPE\") is supported");
        CheckBpeOptions(path, model);
        var vocab = ReadVocab(path, model);
        var merges = ReadMerges(path, model, vocab);
        bool ignoreMerges = OptionalBool(path, model, "model.ignore_merges", "ignore_merges") ?? false;
        var added = ReadAddedTokens(path, root);
        var normalizers = new List<NormalizationForm>();
        if (root.TryGetProperty("normalizer", out var normalizer)) ReadNormalizer(path, normalizer, "normalizer", normalizers);
        var patterns = new List<string>();
        bool byteLevel = false;
        if (root.TryGetProperty("pre_tokenizer", out var pre)) ReadPreTokenizer(path, pre, "pre_tokenizer", patterns, ref byteLevel);
        if (!byteLevel) throw Bad(path, "pre_tokenizer", "has no ByteLevel step; only byte-level BPE is supported");
        if (root.TryGetProperty("decoder", out var decoder)) CheckDecoder(path, decoder, "decoder");
        var prefix = new List<int>();
        var suffix = new List<int>();
        if (root.TryGetProperty("post_processor", out var post)) ReadPostProcessor(path, post, "post_processor", prefix, suffix);

        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var config = HfTokenizerConfig.Read(System.IO.Path.Combine(directory, "tokenizer_config.json"));
        string? chatTemplate = config?.ChatTemplate;
        string jinja = System.IO.Path.Combine(directory, "chat_template.jinja");
        if (chatTemplate == null && File.Exists(jinja))
        {
            InputFile.RequireRegular(jinja, "a chat template");
            chatTemplate = File.ReadAllText(jinja);
        }
        if (config?.AddBos is bool addBos) SetEdge(prefix, config.BosToken, addBos, atStart: true);
        if (config?.AddEos is bool addEos) SetEdge(suffix, config.EosToken, addEos, atStart: false);

        return new HfTokenizerJson
        {
            Path = path,
            Vocab = vocab,
            Merges = merges,
            IgnoreMerges = ignoreMerges,
            AddedTokens = added,
            Normalizers = normalizers,
            SplitPatterns = patterns,
            PrefixIds = prefix.ToArray(),
            SuffixIds = suffix.ToArray(),
            BosToken = config?.BosToken,
            EosToken = config?.EosToken,
            PadToken = config?.PadToken,
            ChatTemplate = chatTemplate,
            ConfigPath = config?.Path,
        };

        // add_bos_token / add_eos_token decide whether that token opens or closes an encoded text, as
        // transformers' Llama tokenizers rebuild their template from them; the template decides otherwise.
        void SetEdge(List<int> ids, string? token, bool add, bool atStart)
        {
            if (token == null) return;
            int id = IdOf(token, vocab, added) ?? throw Bad(config!.Path, atStart ? "bos_token" : "eos_token", $"'{token}' is not a token of {path}");
            int at = atStart ? 0 : ids.Count - 1;
            bool has = ids.Count > 0 && ids[at] == id;
            if (add && !has) ids.Insert(atStart ? 0 : ids.Count, id);
            if (!add && has) ids.RemoveAt(at);
        }
    }

    /// <summary>The id of <paramref name="token"/>: an added token's, or the vocabulary's.</summary>
    public static int? IdOf(string token, Dictionary<string, int> vocab, List<HfAddedToken> added)
    {
        foreach (var a in added)
            if (a.Content == token) return a.Id;
        return vocab.TryGetValue(token, out int id) ? id : null;
    }

    static JsonDocument Parse(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: not valid JSON ({OneLine(e.Message)})");
        }
        catch (IOException e)
        {
            throw new BadInputException($"{path}: cannot be read ({OneLine(e.Message)})");
        }
        catch (UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot be read (permission denied)");
        }
    }

    static void CheckBpeOptions(string path, JsonElement model)
    {
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() is > 0 and < 1)
            throw Bad(path, "model.dropout", $"is {dropout.GetRawText()}; BPE dropout (random merges) is not supported");
        foreach (var key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(key, out var affix) && affix.ValueKind == JsonValueKind.String && affix.GetString()!.Length > 0)
                throw Bad(path, "model." + key, $"is '{affix.GetString()}'; byte-level BPE has none");
        if (OptionalBool(path, model, "model.byte_fallback", "byte_fallback") == true)
            throw Bad(path, "model.byte_fallback", "is true; byte fallback (SentencePiece-style <0xNN> tokens) is not supported, only byte-level BPE");
    }

    static Dictionary<string, int> ReadVocab(string path, JsonElement model)
    {
        var element = Required(path, model, "vocab", JsonValueKind.Object, "model.vocab");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Bad(path, "model.vocab", $"token '{entry.Name}' has id {entry.Value.GetRawText()}; expected a whole number 0 or more");
            vocab[entry.Name] = id;
        }
        if (vocab.Count == 0) throw Bad(path, "model.vocab", "is empty");
        return vocab;
    }

    /// <summary>Merges as "left right" strings (tokenizers before 0.20) or as [left, right] pairs.</summary>
    static List<(string, string)> ReadMerges(string path, JsonElement model, Dictionary<string, int> vocab)
    {
        var element = Required(path, model, "merges", JsonValueKind.Array, "model.merges");
        var merges = new List<(string, string)>(element.GetArrayLength());
        int index = 0;
        foreach (var merge in element.EnumerateArray())
        {
            string key = $"model.merges[{index}]";
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ');
                if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                    throw Bad(path, key, $"is '{text}'; expected two tokens separated by one space");
                (left, right) = (text[..space], text[(space + 1)..]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
            }
            else
            {
                throw Bad(path, key, $"is {Show(merge)}; expected \"left right\" or [\"left\", \"right\"]");
            }
            foreach (string token in new[] { left, right, left + right })
                if (!vocab.ContainsKey(token))
                    throw Bad(path, key, $"names '{token}', which is not in model.vocab");
            merges.Add((left, right));
            index++;
        }
        return merges;
    }

    static List<HfAddedToken> ReadAddedTokens(string path, JsonElement root)
    {
        var added = new List<HfAddedToken>();
        if (!root.TryGetProperty("added_tokens", out var element) || element.ValueKind == JsonValueKind.Null) return added;
        if (element.ValueKind != JsonValueKind.Array) throw Bad(path, "added_tokens", $"is {Show(element)}; expected an array");
        int index = 0;
        foreach (var token in element.EnumerateArray())
        {
            string key = $"added_tokens[{index++}]";
            if (token.ValueKind != JsonValueKind.Object) throw Bad(path, key, "expected an object");
            if (!token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id) || id < 0)
                throw Bad(path, key + ".id", "is missing or not a whole number 0 or more");
            string content = RequiredString(path, token, key + ".content", "content");
            if (content.Length == 0) throw Bad(path, key + ".content", "is empty");
            if (OptionalBool(path, token, key + ".single_word", "single_word") == true)
                throw Bad(path, key + ".single_word", "is true; added tokens that match only whole words are not supported");
            added.Add(new HfAddedToken(id, content,
                OptionalBool(path, token, key + ".special", "special") ?? false,
                OptionalBool(path, token, key + ".normalized", "normalized") ?? false,
                OptionalBool(path, token, key + ".lstrip", "lstrip") ?? false,
                OptionalBool(path, token, key + ".rstrip", "rstrip") ?? false));
        }
        return added;
    }

    static void ReadNormalizer(string path, JsonElement element, string key, List<NormalizationForm> forms)
    {
        if (element.ValueKind == JsonValueKind.Null) return;
        string type = RequiredString(path, element, key + ".type", "type");
        switch (type)
        {
            case "NFC": forms.Add(NormalizationForm.FormC); break;
            case "NFD": forms.Add(NormalizationForm.FormD); break;
            case "NFKC": forms.Add(NormalizationForm.FormKC); break;
            case "NFKD": forms.Add(NormalizationForm.FormKD); break;
            case "Sequence":
                var list = Required(path, element, "normalizers", JsonValueKind.Array, key + ".normalizers");
                int i = 0;
                foreach (var inner in list.EnumerateArray()) ReadNormalizer(path, inner, $"{key}.normalizers[{i++}]", forms);
                break;
            default:
                throw Bad(path, key + ".type", $"is '{type}'; supported normalizers are NFC, NFD, NFKC, NFKD and Sequence");
        }
    }

    static void ReadPreTokenizer(string path, JsonElement element, string key, List<string> patterns, ref bool byteLevel)
    {
        if (element.ValueKind == JsonValueKind.Null) return;
        string type = RequiredString(path, element, key + ".type", "type");
        if (byteLevel) throw Bad(path, key, $"a {type} step after ByteLevel is not supported; ByteLevel must come last");
        switch (type)
        {
            case "Sequence":
                var list = Required(path, element, "pretokenizers", JsonValueKind.Array, key + ".pretokenizers");
                int i = 0;
                foreach (var inner in list.EnumerateArray()) ReadPreTokenizer(path, inner, $"{key}.pretokenizers[{i++}]", patterns, ref byteLevel);
                break;
            case "Split":
                var pattern = Required(path, element, "pattern", JsonValueKind.Object, key + ".pattern");
                string regex;
                if (pattern.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String) regex = r.GetString()!;
                else if (pattern.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String) regex = System.Text.RegularExpressions.Regex.Escape(s.GetString()!);
                else throw Bad(path, key + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
                string behavior = element.TryGetProperty("behavior", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : "";
                if (behavior != "Isolated") throw Bad(path, key + ".behavior", $"is '{behavior}'; only Isolated is supported");
                if (OptionalBool(path, element, key + ".invert", "invert") == true) throw Bad(path, key + ".invert", "is true; inverted splits are not supported");
                CodePointRegex.Check(regex, path, key + ".pattern.Regex");
                patterns.Add(regex);
                break;
            case "ByteLevel":
                if (OptionalBool(path, element, key + ".add_prefix_space", "add_prefix_space") == true)
                    throw Bad(path, key + ".add_prefix_space", "is true; a space added before each piece is not supported");
                if (OptionalBool(path, element, key + ".use_regex", "use_regex") ?? true) patterns.Add(ByteLevelPattern);
                byteLevel = true;
                break;
            default:
                throw Bad(path, key + ".type", $"is '{type}'; supported pre-tokenizers are Split, ByteLevel and Sequence");
        }
    }

    static void CheckDecoder(string path, JsonElement element, string key)
    {
        if (element.ValueKind == JsonValueKind.Null) return;
        string type = RequiredString(path, element, key + ".type", "type");
        if (type != "ByteLevel") throw Bad(path, key + ".type", $"is '{type}'; a byte-level tokenizer decodes with ByteLevel");
    }

    /// <summary>The single-text template of TemplateProcessing: the special tokens before and after sequence A.</summary>
    static void ReadPostProcessor(string path, JsonElement element, string key, List<int> prefix, List<int> suffix)
    {
        if (element.ValueKind == JsonValueKind.Null) return;
        string type = RequiredString(path, element, key + ".type", "type");
        switch (type)
        {
            case "ByteLevel":
                return; // offsets only
            case "Sequence":
                var list = Required(path, element, "processors", JsonValueKind.Array, key + ".processors");
                int i = 0;
                foreach (var inner in list.EnumerateArray()) ReadPostProcessor(path, inner, $"{key}.processors[{i++}]", prefix, suffix);
                return;
            case "TemplateProcessing":
                var single = Required(path, element, "single", JsonValueKind.Array, key + ".single");
                var specials = element.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object ? st : default;
                bool seenA = false;
                int index = 0;
                foreach (var item in single.EnumerateArray())
                {
                    string itemKey = $"{key}.single[{index++}]";
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("Sequence", out var sequence))
                    {
                        string id = sequence.TryGetProperty("id", out var sid) ? sid.GetString() ?? "" : "";
                        if (id != "A" || seenA) throw Bad(path, itemKey, $"sequence '{id}' in the single-text template; expected A once");
                        seenA = true;
                    }
                    else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("SpecialToken", out var special)
                        && special.TryGetProperty("id", out var nameElement) && nameElement.ValueKind == JsonValueKind.String)
                    {
                        string name = nameElement.GetString()!;
                        if (specials.ValueKind != JsonValueKind.Object || !specials.TryGetProperty(name, out var entry)
                            || !entry.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array)
                            throw Bad(path, key + ".special_tokens", $"has no ids for '{name}'");
                        foreach (var id in ids.EnumerateArray())
                        {
                            if (!id.TryGetInt32(out int value) || value < 0) throw Bad(path, $"{key}.special_tokens.{name}.ids", "expected whole numbers 0 or more");
                            (seenA ? suffix : prefix).Add(value);
                        }
                    }
                    else
                    {
                        throw Bad(path, itemKey, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
                    }
                }
                if (!seenA) throw Bad(path, key + ".single", "has no sequence A");
                return;
            default:
                throw Bad(path, key + ".type", $"is '{type}'; supported post-processors are TemplateProcessing, ByteLevel and Sequence");
        }
    }

    // ---- small readers ------------------------------------------------------------------------

    static JsonElement Required(string path, JsonElement parent, string name, JsonValueKind kind, string? key = null)
    {
        key ??= name;
        if (!parent.TryGetProperty(name, out var value)) throw Bad(path, key, "is missing");
        if (value.ValueKind != kind) throw Bad(path, key, $"is {Show(value)}; expected {Describe(kind)}");
        return value;
    }

    static string RequiredString(string path, JsonElement parent, string key, string name) =>
        Required(path, parent, name, JsonValueKind.String, key).GetString()!;

    static bool? OptionalBool(string path, JsonElement parent, string key, string name)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(path, key, $"is {Show(value)}; expected true or false"),
        };
    }

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        _ => kind.ToString().ToLowerInvariant(),
    };

    static string Show(JsonElement value)
    {
        string text = value.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => value.GetRawText(),
        };
        return text.Length > 60 ? text[..60] + "..." : text;
    }

    static string OneLine(string message) => message.ReplaceLineEndings(" ");

    internal static BadInputException Bad(string path, string key, string problem) =>
        new(key.Length == 0 ? $"{path}: {problem}" : $"{path}: {key} {problem}");
}
