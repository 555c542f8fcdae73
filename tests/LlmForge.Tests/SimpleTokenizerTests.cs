namespace LlmForge.Tests;

public class SimpleTokenizerTests
{
    static readonly string Verdict = File.ReadAllText(TestPaths.Verdict);

    [Fact]
    public void VerdictGivesTheBooksCounts()
    {
        Assert.Equal(4690, SimpleTokenizer.Split(Verdict).Count);
        Assert.Equal(1130, SimpleTokenizer.FromText(Verdict, version: 1).VocabSize);
        var v2 = SimpleTokenizer.FromText(Verdict, version: 2);
        Assert.Equal(1132, v2.VocabSize);
        Assert.Equal(SimpleTokenizer.EndOfText, v2.Vocabulary[1130]);
        Assert.Equal(SimpleTokenizer.Unknown, v2.Vocabulary[1131]);
    }

    [Fact]
    public void Version1EncodesAndDecodesTheBooksPassage()
    {
        var tokenizer = SimpleTokenizer.FromText(Verdict, version: 1);
        const string text = "\"It's the last he painted, you know,\" \n           Mrs. Gisburn said with pardonable pride.";
        int[] ids = tokenizer.Encode(text);
        Assert.Equal([1, 56, 2, 850, 988, 602, 533, 746, 5, 1126, 596, 5, 1, 67, 7, 38, 851, 1108, 754, 793, 7], ids);
        Assert.Equal("\" It' s the last he painted, you know,\" Mrs. Gisburn said with pardonable pride.", tokenizer.Decode(ids));
    }

    [Fact]
    public void Version1RejectsAnUnknownWordByName()
    {
        var tokenizer = SimpleTokenizer.FromText(Verdict, version: 1);
        var error = Assert.Throws<TokenizerException>(() => tokenizer.Encode("Hello, do you like tea?"));
        Assert.Contains("'Hello'", error.Message);
    }

    [Fact]
    public void Version2MapsUnknownWordsAndKeepsEndOfText()
    {
        var tokenizer = SimpleTokenizer.FromText(Verdict, version: 2);
        const string text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace.";
        int[] ids = tokenizer.Encode(text);
        Assert.Equal([1131, 5, 355, 1126, 628, 975, 10, 1130, 55, 988, 956, 984, 722, 988, 1131, 7], ids);
        Assert.Equal("<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>.", tokenizer.Decode(ids));
    }

    [Fact]
    public void SpecialTokensAreVersion2sOnly()
    {
        ITokenizer v2 = SimpleTokenizer.FromText(Verdict, version: 2);
        Assert.Equal([(SimpleTokenizer.EndOfText, 1130), (SimpleTokenizer.Unknown, 1131)], v2.SpecialTokens);
        Assert.Equal(1130, v2.EndOfTextId);
        Assert.Equal(1130, v2.PadId);
        ITokenizer v1 = SimpleTokenizer.FromText(Verdict, version: 1);
        Assert.Empty(v1.SpecialTokens);
        Assert.Null(v1.EndOfTextId);
    }

    [Fact]
    public void StreamingDecodingJoinsToTheWholeDecode()
    {
        var tokenizer = SimpleTokenizer.FromText(Verdict, version: 2);
        int[] passage = tokenizer.Encode("\"It's the last he painted, you know,\" Mrs. Gisburn said (with pride). <|endoftext|> Hello!");
        // Punctuation removes the space before it, so a piece never ends in the space a later token may remove.
        var decoder = tokenizer.NewStreamingDecoder();
        var pieces = passage.Select(decoder.Add).Append(decoder.Finish()).ToList();
        Assert.Equal(tokenizer.Decode(passage), string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.EndsWith(' '));
        // Random words, and words of a vocabulary with spaces inside and around them.
        var random = new Random(3);
        var spaced = new SimpleTokenizer(["a ", " ,", "b", ".", "  c  ", "(", SimpleTokenizer.Unknown]);
        foreach (var t in new[] { tokenizer, spaced })
            for (int round = 0; round < 200; round++)
            {
                int[] ids = Enumerable.Range(0, random.Next(1, 30)).Select(_ => random.Next(t.VocabSize)).ToArray();
                var d = t.NewStreamingDecoder();
                Assert.Equal(t.Decode(ids), string.Concat(ids.Select(d.Add)) + d.Finish());
            }
    }
}
