namespace LlmForge.Tests;

public class BpeTrainerTests
{
    static readonly string Verdict = File.ReadAllText(TestPaths.Verdict);

    [Fact]
    public void TrainsTheRequestedSizeWithSpecialTokensLast()
    {
        var tokenizer = new BpeTrainer().Train(Verdict, vocabSize: 600);
        Assert.Equal(600, tokenizer.VocabSize);
        Assert.Equal(599, tokenizer.EndOfTextId);
        Assert.True(tokenizer.Merges!.Count >= 600 - 256 - 1);
        // Learned tokens shorten the text: fewer ids than bytes.
        Assert.True(tokenizer.Encode(Verdict).Length < Verdict.Length / 2);
    }

    [Fact]
    public void TheFirstMergeIsTheMostFrequentPair()
    {
        // Pieces "ab", " ab", " ab", " cd": (a, b) is seen 3 times, more than any other pair.
        var tokenizer = new BpeTrainer().Train("ab ab ab cd", vocabSize: 258);
        Assert.Equal([((int)'a', (int)'b')], tokenizer.Merges);
        Assert.Equal([256, ' ', 256, ' ', 'c', 'd'], tokenizer.Encode("ab ab cd"));
    }

    [Fact]
    public void SavesLoadsAndRoundTripsExactly()
    {
        var trained = new BpeTrainer { SpecialTokens = ["<|endoftext|>", "<|pad|>"] }.Train(Verdict, vocabSize: 800);
        string dir = Path.Combine(Path.GetTempPath(), "llmforge-bpe-" + Guid.NewGuid().ToString("N"));
        try
        {
            trained.Save(dir);
            var loaded = Gpt2Tokenizer.Load(dir);
            Assert.Equal(trained.VocabSize, loaded.VocabSize);
            Assert.Equal(trained.SpecialTokens, loaded.SpecialTokens);
            string shakespeare = SharedTexts.Story("tinyshakespeare.txt")[..50_000];
            foreach (var text in HardStrings.Valid.Append(Verdict).Append(shakespeare).Append("a<|pad|>b<|endoftext|>"))
            {
                int[] ids = trained.Encode(text);
                Assert.Equal(ids, loaded.Encode(text));
                Assert.Equal(text, loaded.Decode(ids));
            }
            Assert.Equal([loaded.VocabSize - 1], loaded.Encode("<|pad|>"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        var first = new BpeTrainer().Train(Verdict, vocabSize: 500);
        var second = new BpeTrainer().Train(Verdict, vocabSize: 500);
        Assert.Equal(first.Merges, second.Merges);
    }

    [Fact]
    public void RejectsAVocabularyTooSmallForTheBytes()
    {
        var error = Assert.Throws<TokenizerException>(() => new BpeTrainer().Train(Verdict, vocabSize: 100));
        Assert.Contains("256", error.Message);
    }

    [Fact]
    public void RejectsTheSameSpecialTokenTwice()
    {
        var error = Assert.Throws<TokenizerException>(() => new BpeTrainer { SpecialTokens = ["<|x|>", "<|x|>"] }.Train(Verdict, vocabSize: 300));
        Assert.Contains("<|x|> is given twice", error.Message);
    }

    [Fact]
    public void SaveRefusesWhatCouldNotBeLoadedAgain()
    {
        // "X" would be written into encoder.json beside the byte token written "X": two ids for one key.
        var trained = new BpeTrainer { SpecialTokens = ["X"] }.Train(Verdict, vocabSize: 300);
        string dir = Path.Combine(Path.GetTempPath(), "llmforge-bpe-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<TokenizerException>(() => trained.Save(dir));
        Assert.Contains("'X'", error.Message);
        Assert.False(Directory.Exists(dir));
    }
}
