using LlmForge.Generation;

namespace LlmForge.Tests;

/// <summary>
/// The book's numbers with OpenAI's real GPT-2 124M. They need the weights in the cache
/// (<c>llmforge download gpt2 --size 124M</c>, which needs network): without them these tests are
/// reported as skipped, with the reason; everything else on this path is tested with the fixtures.
/// </summary>
public class RealGpt2Tests
{
    static string CacheDir => Gpt2Cache.Directory("124M");

    static void SkipUnlessDownloaded() =>
        Skip.IfNot(File.Exists(Path.Combine(CacheDir, "model.safetensors")),
            $"GPT-2 124M is not in {CacheDir}: run 'llmforge download gpt2 --size 124M' where there is network");

    [SkippableFact]
    public void VerdictLossesAreTheBooks()
    {
        SkipUnlessDownloaded();
        using var gpt2 = ModelLoader.Load("gpt2-124M");
        var data = PretrainingData.Load(TestPaths.Verdict, gpt2.Tokenizer, valFraction: 0.1);
        var train = new DataLoader(new GptDataset(data.TrainIds, 256, 256), 2, shuffle: false, dropLast: true);
        var val = new DataLoader(new GptDataset(data.ValIds, 256, 256), 2, shuffle: false, dropLast: false);
        // The book, chapter 5.5: 3.7547 / 3.5596 (PyTorch, fp32).
        Assert.Equal(3.7547, Loss.CalcLossLoader(gpt2.Model, train), 3);
        Assert.Equal(3.5596, Loss.CalcLossLoader(gpt2.Model, val), 3);
    }

    [SkippableFact]
    public void GreedyGenerationIsTheSameWithAndWithoutTheCache()
    {
        SkipUnlessDownloaded();
        using var gpt2 = ModelLoader.Load("gpt2-124M");
        int[] prompt = gpt2.Tokenizer.Encode("Every effort moves you");
        var cached = TextGenerator.Generate(gpt2.Model, prompt, new GenerationOptions { MaxNewTokens = 25 }).ToArray();
        var recomputed = TextGenerator.Generate(gpt2.Model, prompt, new GenerationOptions { MaxNewTokens = 25, UseKvCache = false }).ToArray();
        Assert.Equal(recomputed, cached);
        Assert.StartsWith("Every effort moves you", gpt2.Tokenizer.Decode([.. prompt, .. cached]));
    }
}
