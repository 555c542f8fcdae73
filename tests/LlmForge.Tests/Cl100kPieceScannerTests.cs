using System.Globalization;
using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// The hand-written pre-tokenizer of Qwen2/Qwen3 and Llama 3 cuts texts exactly where the files' regular expression
/// does (run by .NET's engine over code points), and the regex path itself treats characters outside the BMP as
/// the code points they are.
/// </summary>
public sealed class Cl100kPieceScannerTests
{
    public static TheoryData<string> Patterns => new() { Cl100kPieceScanner.Qwen2Pattern, Cl100kPieceScanner.Llama3Pattern };

    static List<(int, int)> Split(HfPreTokenizer preTokenizer, string text)
    {
        var pieces = new List<(int, int)>();
        preTokenizer.Split(text, pieces);
        return pieces;
    }

    /// <summary>Random strings over every class the pattern tells apart, surrogate pairs included (never split).</summary>
    static IEnumerable<string> RandomTexts(int count, int seed)
    {
        string[] units = ["a", "Z", "é", "\u0301", "中", "𝒜", "😀", "0", "9", "٣", "Ⅻ", "𝟏", " ", " ", "\t", "\n", "\r", "\u00a0", "\u3000",
            "\u2028", "\u0085", "\ufeff", ".", "!", "'", "s", "S", "t", "ll", "LL", "Re", "vE", "d", "M", "<", "|", "-"];
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 25);
            for (int j = 0; j < length; j++) text.Append(units[random.Next(units.Length)]);
            yield return text.ToString();
        }
    }

    [Theory, MemberData(nameof(Patterns))]
    public void CutsWhereTheRegexCuts(string pattern)
    {
        var scanner = new HfPreTokenizer([pattern]);
        var regex = new HfPreTokenizer([pattern], handWritten: false);
        Assert.NotNull(scanner.Scanner);
        Assert.Null(regex.Scanner);
        var texts = HfReference.StoryTexts.Value.Concat(HfReference.HardTexts).Concat(HardStrings.Valid)
            .Concat(RandomTexts(20_000, seed: 7));
        int compared = 0;
        foreach (var text in texts)
        {
            var expected = Split(regex, text);
            var actual = Split(scanner, text);
            if (!actual.SequenceEqual(expected))
                Assert.Fail($"{JsonSerializer.Serialize(text)}: regex [{string.Join(" ", expected)}], scanner [{string.Join(" ", actual)}]");
            compared++;
        }
        Assert.True(compared > 20_000);
    }

    [Fact]
    public void TheRegexPathMatchesCodePoints()
    {
        // GPT-2's pattern (a ByteLevel pre-tokenizer with use_regex), which has no hand-written form here.
        var gpt2 = new HfPreTokenizer([HfTokenizerJson.ByteLevelPattern]);
        Assert.Null(gpt2.Scanner);
        string text = "𝒜bc 😀😀 x𝟏𝟐";
        Assert.Equal(["𝒜bc", " 😀😀", " x", "𝟏𝟐"], Split(gpt2, text).Select(p => text.Substring(p.Item1, p.Item2)));
    }

    [Fact]
    public void EachStandInHasTheCategoryItStandsFor()
    {
        foreach (UnicodeCategory category in Enum.GetValues<UnicodeCategory>())
        {
            if (category == UnicodeCategory.Surrogate) continue; // lone surrogates are replaced before matching
            char standIn = CodePointRegex.StandIn(category);
            Assert.Equal(category, CharUnicodeInfo.GetUnicodeCategory(standIn));
            Assert.True(standIn >= 0x80, $"{category}: an ASCII stand-in could match a pattern's literal");
        }
    }

    [Fact]
    public void ApostropheLongSFoldsLikeOniguruma()
    {
        // Hugging Face's tokenizers (Oniguruma) fold case by Unicode's CaseFolding.txt, where ſ (U+017F) folds to s:
        // (?i:'s) takes "'ſ". The scanner does the same. .NET's regex (and the JavaScript reference, which spells the
        // group [sS]) do not, which is why "'ſ" is left out of the comparisons.
        var scanner = Cl100kPieceScanner.For(Cl100kPieceScanner.Qwen2Pattern)!;
        Assert.Equal(2, scanner.NextPieceEnd("'ſt", 0));
        Assert.Equal(2, scanner.NextPieceEnd("'St", 0));
        Assert.Equal(3, scanner.NextPieceEnd("'LL", 0));
    }
}
