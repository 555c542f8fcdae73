using LlmForge.Generation;

namespace LlmForge.Tests;

public class GenerationTests
{
    static readonly GptConfig Tiny = new() { VocabSize = 50257, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 2, DropRate = 0.1, QkvBias = true };

    static GptModel NewTiny()
    {
        manual_seed(123);
        var model = new GptModel(Tiny);
        model.eval();
        return model;
    }

    static int[] Run(GptModel model, int[] prompt, GenerationOptions options) => TextGenerator.Generate(model, prompt, options).ToArray();

    [Fact]
    public void BeyondTheContextTheCacheStillGivesRecomputationsIds()
    {
        using var model = NewTiny();
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var cached = Run(model, prompt, new GenerationOptions { MaxNewTokens = 30 });
        var recomputed = Run(model, prompt, new GenerationOptions { MaxNewTokens = 30, UseKvCache = false });
        Assert.Equal(30, cached.Length);
        Assert.Equal(recomputed, cached);
        // A prompt longer than the context is cropped to its last 16 tokens.
        int[] longPrompt = Enumerable.Range(100, 40).ToArray();
        Assert.Equal(Run(model, longPrompt[^16..], new GenerationOptions { MaxNewTokens = 5 }), Run(model, longPrompt, new GenerationOptions { MaxNewTokens = 5 }));
    }

    [Fact]
    public void SamplingIsRepeatableWithASeedAndVariesWithout()
    {
        using var model = NewTiny();
        int[] prompt = [6109, 3626, 6100, 345];
        var options = new GenerationOptions { MaxNewTokens = 15, Temperature = 1.5, Seed = 42 };
        Assert.Equal(Run(model, prompt, options), Run(model, prompt, options));
        Assert.NotEqual(Run(model, prompt, options), Run(model, prompt, options with { Seed = 43 }));
        Assert.NotEqual(Run(model, prompt, new GenerationOptions { MaxNewTokens = 15 }), Run(model, prompt, options));
    }

    [Fact]
    public void TopKOfOneAndATinyTopPAreGreedy()
    {
        using var model = NewTiny();
        int[] prompt = [6109, 3626, 6100, 345];
        var greedy = Run(model, prompt, new GenerationOptions { MaxNewTokens = 10 });
        Assert.Equal(greedy, Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 2, TopK = 1, Seed = 7 }));
        Assert.Equal(greedy, Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 2, TopP = 1e-6, Seed = 7 }));
    }

    [Fact]
    public void SamplerKeepsOnlyTheAllowedTokens()
    {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top-k 2 and top-p 0.75 both allow ids 0 and 1 only.
        using var logits = log(tensor(new float[] { 0.5f, 0.3f, 0.15f, 0.05f })).unsqueeze(0);
        foreach (var options in new[] { new GenerationOptions { Temperature = 1, TopK = 2 }, new GenerationOptions { Temperature = 1, TopP = 0.75 } })
        {
            using var sampler = new Sampler(options);
            var seen = Enumerable.Range(0, 400).Select(_ => sampler.Next(logits).item<long>()).ToHashSet();
            Assert.Equal(new HashSet<long> { 0, 1 }, seen);
        }
        using var all = new Sampler(new GenerationOptions { Temperature = 1, Seed = 5 });
        Assert.Equal(4, Enumerable.Range(0, 400).Select(_ => all.Next(logits).item<long>()).Distinct().Count());
    }

    [Fact]
    public void StopsAfterTheStopToken()
    {
        using var model = NewTiny();
        int[] prompt = [6109, 3626, 6100, 345];
        var greedy = Run(model, prompt, new GenerationOptions { MaxNewTokens = 10 });
        int stop = greedy[2];
        int at = Array.IndexOf(greedy, stop);
        Assert.Equal(greedy[..(at + 1)], Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, StopTokenId = stop }));
    }

    [Fact]
    public async Task StreamingGivesTheSameTextAsDecodingTheIds()
    {
        using var loaded = ModelLoader.Load(FixtureModel.Dir);
        var options = new GenerationOptions { MaxNewTokens = 20 };
        var pieces = new List<string>();
        await foreach (var piece in TextGenerator.StreamAsync(loaded.Model, loaded.Tokenizer, "Every effort moves you", options))
            pieces.Add(piece);
        int[] ids = FixtureModel.Ints("greedy_20");
        Assert.Equal(loaded.Tokenizer.Decode(ids[4..]), string.Concat(pieces));
        Assert.True(pieces.Count > 1);
        // Token 49960 holds part of a CJK character: no piece may carry half a character.
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
    }

    [Fact]
    public void BadOptionsAreRejectedByName()
    {
        using var model = NewTiny();
        Assert.Contains("temperature", Assert.Throws<BadInputException>(() => Run(model, [1], new GenerationOptions { Temperature = -1 })).Message);
        Assert.Contains("max-new-tokens", Assert.Throws<BadInputException>(() => Run(model, [1], new GenerationOptions { MaxNewTokens = -1 })).Message);
        Assert.Contains("top-k", Assert.Throws<BadInputException>(() => Run(model, [1], new GenerationOptions { TopK = 0 })).Message);
        Assert.Contains("top-p", Assert.Throws<BadInputException>(() => Run(model, [1], new GenerationOptions { TopP = 0 })).Message);
        Assert.Contains("top-p", Assert.Throws<BadInputException>(() => Run(model, [1], new GenerationOptions { TopP = 1.5 })).Message);
        Assert.Contains("empty", Assert.Throws<BadInputException>(() => Run(model, [], new GenerationOptions())).Message);
    }

    [Fact]
    public void NonFiniteLogitsRaiseTheirOwnException()
    {
        using var model = NewTiny();
        using (no_grad()) model.final_norm.scale[0].fill_(float.NaN);
        // Greedy decoding used to return id 0 for NaN logits; sampling failed inside libtorch.
        foreach (var options in new[] { new GenerationOptions { MaxNewTokens = 3 }, new GenerationOptions { MaxNewTokens = 3, Temperature = 1, TopK = 5, TopP = 0.9 } })
            Assert.Throws<NonFiniteLogitsException>(() => Run(model, [1, 2, 3], options));
    }

    [Fact]
    public void ExtremeTemperaturesAndTopPNeverGiveNaN()
    {
        using var model = NewTiny();
        int[] prompt = [6109, 3626, 6100, 345];
        var greedy = Run(model, prompt, new GenerationOptions { MaxNewTokens = 10 });
        foreach (double tiny in new[] { 1e-45, 1e-300, double.Epsilon })
            Assert.Equal(greedy, Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = tiny, Seed = 3 }));
        // At 1e-3 a token within about 0.01 of the best keeps a chance: random weights can have such a near-tie (the
        // global seed is shared with tests running at the same time, so the weights are not always the same).
        var cool = Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 1e-3, Seed = 3 });
        Assert.Equal(10, cool.Length);
        Assert.All(cool, id => Assert.InRange(id, 0, Tiny.VocabSize - 1));
        Assert.Equal(greedy, Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 1, TopP = 1e-300, Seed = 3 }));
        Assert.Equal(10, Run(model, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 1e300, TopK = 50, Seed = 3 }).Length);
        // bf16 logits scaled by 1 / 0.001 used to overflow bf16; the sampler widens them first.
        using var half = NewTiny();
        half.to(ScalarType.BFloat16);
        Assert.Equal(10, Run(half, prompt, new GenerationOptions { MaxNewTokens = 10, Temperature = 1e-3, Seed = 3 }).Length);
        Assert.Contains("finite", Assert.Throws<BadInputException>(() => Run(model, prompt, new GenerationOptions { Temperature = double.PositiveInfinity })).Message);
    }

    [Fact]
    public void StreamingPiecesJoinToTheDecodedIdsWhenCharactersSpanTokens()
    {
        using var loaded = ModelLoader.Load(FixtureModel.Dir);
        // Sampled hot from an emoji prompt, the tiny model writes byte tokens that hold parts of characters.
        int[] prompt = Prompt.Encode(loaded.Tokenizer, "🍵😀 日本語 😀😀", loaded.Config.VocabSize);
        foreach (var options in new[] { new GenerationOptions { MaxNewTokens = 100, Temperature = 2, Seed = 8 } })
        {
            int[] ids = TextGenerator.Generate(loaded.Model, prompt, options).ToArray();
            var pieces = TextGenerator.Stream(loaded.Model, loaded.Tokenizer, prompt, options).ToList();
            Assert.Equal(loaded.Tokenizer.Decode(ids), string.Concat(pieces));
            Assert.DoesNotContain(pieces, p => p.Length == 0);
            // The case streaming must handle: some new token holds only part of a character.
            var gpt2 = (Text.Gpt2Tokenizer)loaded.Tokenizer;
            Assert.Contains(ids, id => !System.Text.Unicode.Utf8.IsValid(gpt2.TokenBytes(id)));
        }
    }

    [Fact]
    public void PromptChecksLiveInTheLibrary()
    {
        var gpt2 = Text.TokenizerLoader.Gpt2Default;
        Assert.Equal([15496], Prompt.Encode(gpt2, "Hello", 50257));
        Assert.Equal("the prompt is empty: generation needs at least one token", Assert.Throws<BadInputException>(() => Prompt.Encode(gpt2, "", 50257)).Message);
        Assert.Equal("--prompt is empty: generation needs at least one token", Assert.Throws<BadInputException>(() => Prompt.RequireText("", "--prompt")).Message);
        Assert.Equal("the prompt names the special token <|im_start|>, which this model's tokenizer does not have (it knows <|endoftext|>)",
            Assert.Throws<BadInputException>(() => Prompt.Encode(gpt2, "<|im_start|>user", 50257)).Message);
        Assert.Equal("the prompt has token id 15496, outside the model's vocabulary of 1000", Assert.Throws<BadInputException>(() => Prompt.Encode(gpt2, "Hello", 1000)).Message);
        // The book's word tokenizer knows its own special tokens now, rather than none.
        var simple = Text.SimpleTokenizer.FromText(File.ReadAllText(TestPaths.Verdict));
        Assert.Equal([1130], Prompt.Encode(simple, "<|endoftext|>", simple.VocabSize));
        Assert.Contains("(it knows <|endoftext|>, <|unk|>)", Assert.Throws<BadInputException>(() => Prompt.Encode(simple, "<|pad|>", simple.VocabSize)).Message);
        // Text the tokenizer drops entirely is refused by name rather than as an empty id list.
        Assert.Contains("gives no tokens", Assert.Throws<BadInputException>(() => Prompt.Encode(simple, "   ", simple.VocabSize)).Message);
    }

    [Fact]
    public void StreamAsyncChecksItsPrompt()
    {
        using var model = NewTiny();
        var error = Assert.Throws<BadInputException>(() => TextGenerator.StreamAsync(model, Text.TokenizerLoader.Gpt2Default, "<|im_start|>", new GenerationOptions()).ToBlockingEnumerable().ToList());
        Assert.Contains("special token <|im_start|>", error.Message);
    }
}
