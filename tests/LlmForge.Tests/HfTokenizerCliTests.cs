namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge tokenize --tokenizer DIR</c> with a small hand-made Hugging Face tokenizer.json: it tokenizes, and a
/// file that is not byte-level BPE or is malformed is refused with exit code 2 and one line naming the file and key.
/// </summary>
public sealed class HfTokenizerCliTests() : ScratchDirectory("llmforge-hf-tokenizer-cli")
{
    /// <summary>
    /// A byte-level BPE with the 256 byte tokens (ids 0..255 in byte order), one merge "h i" → "hi" (256), an added
    /// token &lt;|end|&gt; (257), Qwen2's pre-tokenizer and a ByteLevel decoder.
    /// </summary>
    static JsonObject SmallTokenizer()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevel.ToUnicode([(byte)b])] = b;
        vocab["hi"] = 256;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = 257, ["content"] = "<|end|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Cl100kPieceScanner.Qwen2Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray(new JsonArray("h", "i")) },
        };
    }

    string Write(JsonObject tokenizer, string? config = null)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());
        if (config != null) File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config);
        return dir;
    }

    static CliRunner.Result Tokenize(string spec) => CliRunner.Run("tokenize", "--tokenizer", spec, "--text", "hi", "--json");

    [Fact]
    public void ASmallTokenizerJsonTokenizes()
    {
        string dir = Write(SmallTokenizer(), """{"eos_token": "<|end|>"}""");
        foreach (var spec in new[] { dir, Path.Combine(dir, "tokenizer.json") })
        {
            var json = CliRunner.Json(CliRunner.Run("tokenize", "--tokenizer", spec, "--text", "hi<|end|> hi", "--json"));
            Assert.Equal([256, 257, 32, 256], json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(258, json.GetProperty("vocab_size").GetInt32());
        }
        var tokenizer = HfBpeTokenizer.Load(dir);
        Assert.Equal(257, tokenizer.EndOfTextId);
        Assert.Equal("hi<|end|> hi", tokenizer.Decode([256, 257, 32, 256]));
    }

    public static TheoryData<string, string, string[]> BadFiles => new()
    {
        { "model.type", """{"model": {"type": "WordPiece"}}""", ["model.type", "'WordPiece'", "only byte-level BPE"] },
        { "no vocab", "REMOVE model.vocab", ["model.vocab is missing"] },
        { "unknown merge token", """{"model": {"merges": [["h", "i"], ["h", "zz"]]}}""", ["model.merges[1]", "'zz'", "not in model.vocab"] },
        { "merged token not in vocab", """{"model": {"merges": [["h", "j"]]}}""", ["model.merges[0]", "'hj'", "not in model.vocab"] },
        { "merge string", """{"model": {"merges": ["h i j"]}}""", ["model.merges[0]", "two tokens separated by one space"] },
        { "no model", "REMOVE model", ["model is missing"] },
        { "pre-tokenizer", """{"pre_tokenizer": {"type": "Metaspace"}}""", ["pre_tokenizer.type", "'Metaspace'"] },
        { "no byte level", """{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"}}""", ["pre_tokenizer", "no ByteLevel step"] },
        { "regex", """{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "a++"}, "behavior": "Isolated"}, {"type": "ByteLevel"}]}}""", ["pre_tokenizer.pretokenizers[0].pattern.Regex", "not a regular expression"] },
        { "behavior", """{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Removed"}, {"type": "ByteLevel"}]}}""", ["pre_tokenizer.pretokenizers[0].behavior", "'Removed'"] },
        { "normalizer", """{"normalizer": {"type": "Lowercase"}}""", ["normalizer.type", "'Lowercase'"] },
        { "decoder", """{"decoder": {"type": "Metaspace"}}""", ["decoder.type", "'Metaspace'"] },
        { "byte missing", "REMOVE model.vocab.!", ["model.vocab", "no token for byte 0x21"] },
        { "bad id", """{"model": {"vocab": {"hi": "x"}}}""", ["model.vocab", "token 'hi'"] },
        { "added token", """{"added_tokens": [{"id": 257}]}""", ["added_tokens[0].content is missing"] },
    };

    [Theory, MemberData(nameof(BadFiles))]
    public void AMalformedTokenizerJsonIsRefusedNamingTheKey(string name, string change, string[] expected)
    {
        var tokenizer = SmallTokenizer();
        if (change.StartsWith("REMOVE "))
        {
            string[] path = change["REMOVE ".Length..].Split('.');
            JsonObject parent = tokenizer;
            foreach (var key in path[..^1]) parent = parent[key]!.AsObject();
            Assert.True(parent.Remove(path[^1]), name);
        }
        else
        {
            Merge(tokenizer, JsonNode.Parse(change)!.AsObject());
        }
        string dir = Write(tokenizer);
        BadInputAssert.OneLine(Tokenize(dir), [Path.Combine(dir, "tokenizer.json") + ":", .. expected]);
    }

    /// <summary>Sets <paramref name="change"/>'s values into <paramref name="target"/>, objects key by key.</summary>
    static void Merge(JsonObject target, JsonObject change)
    {
        foreach (var (key, value) in change.ToList())
        {
            if (value is JsonObject inner && target[key] is JsonObject existing && key is not ("pre_tokenizer" or "normalizer" or "decoder"))
            {
                Merge(existing, inner);
                continue;
            }
            change.Remove(key);
            target[key] = value;
        }
    }

    [Fact]
    public void NotJsonIsRefused()
    {
        string dir = Path.Combine(_dir, "broken");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": ");
        BadInputAssert.OneLine(Tokenize(dir), Path.Combine(dir, "tokenizer.json") + ": not valid JSON");
    }

    [Fact]
    public void AnEndTokenTheVocabularyLacksIsRefusedNamingTheConfig()
    {
        string dir = Write(SmallTokenizer(), """{"eos_token": "<|nope|>"}""");
        BadInputAssert.OneLine(Tokenize(dir), Path.Combine(dir, "tokenizer_config.json") + ": eos_token", "'<|nope|>' is not a token");
    }

    [Fact]
    public void ADirectoryWithoutTokenizerFilesNamesWhatItNeeds()
    {
        BadInputAssert.OneLine(Tokenize(_dir), _dir, "tokenizer.json", "encoder.json and vocab.bpe");
    }
}
