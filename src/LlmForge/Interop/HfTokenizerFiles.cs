using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Interop;

/// <summary>
/// Writes a byte-level BPE tokenizer the way Hugging Face model directories carry it, so that
/// <c>AutoTokenizer.from_pretrained(DIR)</c> loads it: <c>vocab.json</c> (byte-level token string → id,
/// the content of OpenAI's <c>encoder.json</c>), <c>merges.txt</c> (<c>#version: 0.2</c>, then one
/// "left right" merge per line, by rank), <c>tokenizer.json</c> (the same for the fast <c>tokenizers</c>
/// library), <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>.
/// </summary>
public static class HfTokenizerFiles
{
    public static readonly string[] FileNames = ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <param name="maxLength">the model's context length (<c>model_max_length</c>).</param>
    public static void Write(Gpt2Tokenizer tokenizer, string directory, int maxLength)
    {
        var tokens = TokenStrings(tokenizer);
        var merges = MergesOf(tokenizer).Select(m => (tokens[m.Left], tokens[m.Right])).ToList();
        var specials = tokenizer.SpecialTokens;

        var vocab = new JsonObject();
        for (int id = 0; id < tokens.Length; id++) vocab[tokens[id]] = id;
        File.WriteAllText(Path.Combine(directory, "vocab.json"), vocab.ToJsonString(Compact));

        // GPT2Tokenizer drops the first line and whatever follows the last newline: every merge ends with one.
        var mergesText = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in merges) mergesText.Append(left).Append(' ').Append(right).Append('\n');
        File.WriteAllText(Path.Combine(directory, "merges.txt"), mergesText.ToString());

        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), TokenizerJson(vocab, merges, specials).ToJsonString(Compact));
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), TokenizerConfig(tokenizer, maxLength).ToJsonString(Indented));
        File.WriteAllText(Path.Combine(directory, "special_tokens_map.json"), SpecialTokensMap(tokenizer).ToJsonString(Indented));
    }

    /// <summary>Each id's string: a special token's text, otherwise its bytes in GPT-2's byte-level alphabet.</summary>
    public static string[] TokenStrings(Gpt2Tokenizer tokenizer)
    {
        var specialText = tokenizer.SpecialTokens.ToDictionary(s => s.Id, s => s.Text);
        var tokens = new string[tokenizer.VocabSize];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
        {
            tokens[id] = specialText.TryGetValue(id, out var text) ? text : ByteLevel.ToUnicode(tokenizer.TokenBytes(id));
            // vocab.json maps strings to ids: two ids with one string cannot both be written.
            if (!seen.TryAdd(tokens[id], id))
                throw new BadInputException($"tokenizer {tokenizer.Name}: tokens {seen[tokens[id]]} and {id} are both '{tokens[id]}'; Hugging Face's vocab.json cannot hold both");
        }
        return tokens;
    }

    /// <summary>
    /// The merges by rank. A vocabulary loaded from a tiktoken file (GPT-2's bundled one) has ranks
    /// instead: there a token is the merge of the two parts that byte-pair encoding of its own bytes,
    /// with only the tokens ranked before it, ends with. For GPT-2 these are exactly OpenAI's vocab.bpe.
    /// </summary>
    public static List<(int Left, int Right)> MergesOf(Gpt2Tokenizer tokenizer)
    {
        if (tokenizer.Merges != null) return tokenizer.Merges.ToList();
        var specialIds = tokenizer.SpecialTokens.Select(s => s.Id).ToHashSet();
        // Latin-1 keeps one char per byte, so byte strings can be joined and looked up as strings.
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokenizer.VocabSize; id++)
            if (!specialIds.Contains(id)) idOf.TryAdd(Encoding.Latin1.GetString(tokenizer.TokenBytes(id)), id);

        var bySpan = idOf.GetAlternateLookup<ReadOnlySpan<char>>();
        var merges = new List<(int, int)>();
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (specialIds.Contains(id) || tokenizer.TokenBytes(id).Length < 2) continue;
            string whole = Encoding.Latin1.GetString(tokenizer.TokenBytes(id));
            // The parts are consecutive slices of the token: part i starts at starts[i].
            var starts = Enumerable.Range(0, whole.Length).ToList();
            int End(int part) => part + 1 < starts.Count ? starts[part + 1] : whole.Length;
            while (starts.Count > 2)
            {
                int best = -1, bestRank = id;
                for (int i = 0; i + 1 < starts.Count; i++)
                    if (bySpan.TryGetValue(whole.AsSpan(starts[i], End(i + 1) - starts[i]), out int rank) && rank < bestRank) (best, bestRank) = (i, rank);
                if (best < 0) break;
                starts.RemoveAt(best + 1);
            }
            if (starts.Count != 2 || !idOf.TryGetValue(whole[..starts[1]], out int left) || !idOf.TryGetValue(whole[starts[1]..], out int right) || left >= id || right >= id)
                throw new BadInputException($"tokenizer {tokenizer.Name}: token {id} is not the merge of two tokens ranked before it; it cannot be written as Hugging Face merges");
            merges.Add((left, right));
        }
        return merges;
    }

    static JsonObject TokenizerJson(JsonObject vocab, List<(string Left, string Right)> merges, IReadOnlyList<(string Text, int Id)> specials)
    {
        // GPT-2's own tokenizer.json, with this vocabulary: byte-level pre-tokenizer (no prefix space) and decoder.
        JsonObject ByteLevelStep(bool addPrefixSpace, bool trimOffsets) => new()
        {
            ["type"] = "ByteLevel",
            ["add_prefix_space"] = addPrefixSpace,
            ["trim_offsets"] = trimOffsets,
            ["use_regex"] = true,
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(specials.OrderBy(s => s.Id).Select(s => (JsonNode)new JsonObject
            {
                ["id"] = s.Id,
                ["content"] = s.Text,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevelStep(addPrefixSpace: false, trimOffsets: true),
            ["post_processor"] = ByteLevelStep(addPrefixSpace: true, trimOffsets: false),
            ["decoder"] = ByteLevelStep(addPrefixSpace: true, trimOffsets: true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab.DeepClone(),
                // "left right" strings: every tokenizers release reads them (a byte-level token has no space).
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}")).ToArray()),
            },
        };
    }

    static JsonObject TokenizerConfig(Gpt2Tokenizer tokenizer, int maxLength)
    {
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["model_max_length"] = maxLength,
            ["add_prefix_space"] = false,
            // Decoding gives back the exact text, as LlmForge's does.
            ["clean_up_tokenization_spaces"] = false,
        };
        foreach (var (key, value) in SpecialTokensMap(tokenizer)) config[key] = value?.DeepClone();
        var decoder = new JsonObject();
        foreach (var (text, id) in tokenizer.SpecialTokens.OrderBy(s => s.Id))
            decoder[id.ToString()] = new JsonObject
            {
                ["content"] = text,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = true,
            };
        config["added_tokens_decoder"] = decoder;
        return config;
    }

    /// <summary>GPT-2's convention: <c>&lt;|endoftext|&gt;</c> is the bos, eos and unk token; other specials are additional.</summary>
    static JsonObject SpecialTokensMap(Gpt2Tokenizer tokenizer)
    {
        var map = new JsonObject();
        if (tokenizer.EndOfTextId >= 0)
        {
            map["bos_token"] = Gpt2Tokenizer.EndOfText;
            map["eos_token"] = Gpt2Tokenizer.EndOfText;
            map["unk_token"] = Gpt2Tokenizer.EndOfText;
        }
        var others = tokenizer.SpecialTokens.Where(s => s.Text != Gpt2Tokenizer.EndOfText).OrderBy(s => s.Id).Select(s => (JsonNode)JsonValue.Create(s.Text)).ToArray();
        if (others.Length > 0) map["additional_special_tokens"] = new JsonArray(others);
        return map;
    }
}
