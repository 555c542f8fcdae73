namespace LlmForge.Tests;

/// <summary>The hand-written pre-tokeniser cuts text exactly where GPT-2's regular expression does.</summary>
public class Gpt2PreTokenizerTests
{
    static void AssertSamePieces(string text)
    {
        var byRegex = Gpt2PreTokenizer.Regex().Matches(text).Select(m => (m.Index, m.Length)).ToList();
        var byHand = Gpt2PreTokenizer.Pieces(text).ToList();
        Assert.Equal(byRegex, byHand);
    }

    [Fact]
    public void MatchesTheRegexOnTheSharedData()
    {
        AssertSamePieces(SharedTexts.Story("the-verdict.txt"));
        AssertSamePieces(SharedTexts.Story("tinyshakespeare.txt"));
        foreach (var message in SharedTexts.SmsMessages()) AssertSamePieces(message);
        foreach (var entry in SharedTexts.InstructionEntries()) AssertSamePieces(entry);
    }

    [Fact]
    public void MatchesTheRegexOnHardAndRandomStrings()
    {
        foreach (var text in HardStrings.Valid.Concat(HardStrings.LoneSurrogates).Concat(HardStrings.Random(5000, seed: 1)))
            AssertSamePieces(text);
    }

    [Fact]
    public void CutsTheWayGpt2Does()
    {
        const string text = "Hello world's  2024!\n\n  x";
        var pieces = Gpt2PreTokenizer.Pieces(text).Select(p => text.Substring(p.Start, p.Length));
        Assert.Equal(["Hello", " world", "'s", " ", " 2024", "!", "\n\n ", " x"], pieces);
    }
}
