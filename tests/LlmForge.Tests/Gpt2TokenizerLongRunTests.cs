using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlmForge.Tests;

/// <summary>
/// One piece that runs on for thousands of bytes (a run of one letter, a minified line, text sent
/// by anyone to a server) is merged in O(n log n) and still gives Microsoft.ML.Tokenizers' ids.
/// The reference itself is quadratic (200,000 × "a" takes it 12 s), so it is asked about runs of
/// tens of thousands of characters, long enough to take our heap path many times over.
/// </summary>
public class Gpt2TokenizerLongRunTests
{
    static readonly TiktokenTokenizer Reference = TiktokenTokenizer.CreateForModel("gpt2");

    static string Repeat(string unit, int times) => new StringBuilder(unit.Length * times).Insert(0, unit, times).ToString();

    /// <summary>The letters of a story with everything else left out: one piece of real words, merged as words are.</summary>
    static string LettersOnly(string story, int length)
    {
        var letters = new StringBuilder(length);
        while (letters.Length < length)
            foreach (char c in story)
                if (char.IsLetter(c) && letters.Append(c).Length == length) break;
        return letters.ToString();
    }

    static string RandomLetters(int length, string alphabet, int seed)
    {
        var random = new Random(seed);
        var chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
        return new string(chars);
    }

    public static TheoryData<string, string> LongRuns()
    {
        string shakespeare = SharedTexts.Story("tinyshakespeare.txt");
        return new()
        {
            { "20,000 × a", Repeat("a", 20_000) },
            { "20,001 × a", Repeat("a", 20_001) },
            { "10,000 × ab", Repeat("ab", 10_000) },
            { "7,000 × abc", Repeat("abc", 7_000) },
            { "10,000 × é (2 bytes each)", Repeat("é", 10_000) },
            { "8,000 × 中 (3 bytes each)", Repeat("中", 8_000) },
            { "5,000 × 😀 (a surrogate pair, 4 bytes)", Repeat("😀", 5_000) },
            { "20,000 spaces", Repeat(" ", 20_000) },
            { "20,000 spaces then a word", Repeat(" ", 20_000) + "word" },
            { "20,000 newlines", Repeat("\n", 20_000) },
            { "20,000 digits", Repeat("1234567890", 2_000) },
            { "20,000 × 0", Repeat("0", 20_000) },
            { "20,000 × !", Repeat("!", 20_000) },
            { "10,000 × =-", Repeat("=-", 10_000) },
            { "30,000 letters of Shakespeare", LettersOnly(shakespeare, 30_000) },
            { "20,000 random letters", RandomLetters(20_000, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", seed: 1) },
            { "20,000 random a/b", RandomLetters(20_000, "ab", seed: 2) },
            { "10,000 random Latin and CJK letters", RandomLetters(10_000, "aeiouéèñ中文字", seed: 3) },
            { "10,000 random hex", RandomLetters(10_000, "0123456789abcdef", seed: 4) },
        };
    }

    [Theory, MemberData(nameof(LongRuns))]
    public void LongRunMatchesTheReference(string name, string text)
    {
        int[] ids = TokenizerLoader.Gpt2Default.Encode(text);
        int[] expected = Reference.EncodeToIds(text).ToArray();
        Assert.True(ids.AsSpan().SequenceEqual(expected), $"{name}: {ids.Length} ids against the reference's {expected.Length}");
        Assert.Equal(text, TokenizerLoader.Gpt2Default.Decode(ids));
    }

    [Fact]
    public void TwoHundredThousandAsAreFiftyThousandFourAs()
    {
        // What the reference gives for this text (it takes it 12 s, so it is not asked here); the
        // same run of 20,000 is checked against it above.
        int aaaa = Reference.EncodeToIds("aaaa").Single();
        Assert.Equal(Enumerable.Repeat(aaaa, 50_000), TokenizerLoader.Gpt2Default.Encode(Repeat("a", 200_000)));
        Assert.Equal(Enumerable.Repeat(aaaa, 5_000), Reference.EncodeToIds(Repeat("a", 20_000)));
    }

    [Fact]
    public void ATextFullOfOneSpecialTokenIsNotRescannedForAnother()
    {
        var trained = new BpeTrainer { SpecialTokens = ["<|endoftext|>", "<|pad|>"] }.Train(File.ReadAllText(TestPaths.Verdict), vocabSize: 300);
        int endOfText = trained.EndOfTextId, pad = trained.VocabSize - 1;
        string text = Repeat("<|endoftext|>", 100_000) + "<|pad|>";
        int[] ids = trained.Encode(text);
        Assert.Equal(100_001, ids.Length);
        Assert.All(ids[..100_000], id => Assert.Equal(endOfText, id));
        Assert.Equal(pad, ids[^1]);
    }
}
