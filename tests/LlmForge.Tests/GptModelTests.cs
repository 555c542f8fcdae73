namespace LlmForge.Tests;

public class GptModelTests
{
    static readonly GptConfig Tiny = new() { VocabSize = 100, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 2, DropRate = 0.1, QkvBias = true };

    [Theory]
    [InlineData("gpt2-small", 163_009_536L, 124_412_160L, 621.83)]
    [InlineData("gpt2-medium", 406_212_608L, 354_749_440L, 1549.58)]
    [InlineData("gpt2-large", 838_220_800L, 773_891_840L, 3197.56)]
    [InlineData("gpt2-xl", 1_637_792_000L, 1_557_380_800L, 6247.68)]
    public void PresetsCountTheBooksParameters(string preset, long total, long withoutHead, double megabytes)
    {
        var config = GptConfig.Preset(preset);
        Assert.Equal(total, config.ParameterCount());
        Assert.Equal(withoutHead, config.ParameterCount(includeOutputHead: false));
        Assert.Equal(megabytes, Math.Round(total * 4.0 / (1024 * 1024), 2));
    }

    [Fact]
    public void ParameterNamesAreTheBooks()
    {
        using var model = new GptModel(Tiny);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        string[] books = ["tok_emb.weight", "pos_emb.weight", "trf_blocks.1.att.W_query.weight", "trf_blocks.1.att.W_query.bias",
            "trf_blocks.0.att.out_proj.bias", "trf_blocks.0.ff.layers.0.weight", "trf_blocks.0.ff.layers.2.bias",
            "trf_blocks.0.norm1.scale", "trf_blocks.0.norm2.shift", "final_norm.scale", "out_head.weight"];
        Assert.All(books, name => Assert.Contains(name, names));
        Assert.DoesNotContain("out_head.bias", names);
        Assert.Equal(Tiny.ParameterCount(), model.ParameterCount());
    }

    [Fact]
    public void ForwardGivesLogitsPerPosition()
    {
        manual_seed(123);
        using var model = new GptModel(Tiny);
        model.eval();
        using var idx = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, [2, 4]);
        using var logits = model.forward(idx);
        Assert.Equal([2L, 4, 100], logits.shape);
        var error = Assert.Throws<ArgumentException>(() => model.forward(zeros(1, 17, ScalarType.Int64)));
        Assert.Contains("context length of 16", error.Message);
    }

    [Fact]
    public void KvCacheGivesTheSameLogitsAsRecomputation()
    {
        manual_seed(123);
        using var model = new GptModel(Tiny);
        model.eval();
        using var idx = randint(0, 100, [1, 12]);
        using var full = model.forward(idx);
        using var cache = model.NewKvCache();
        using var first = model.forward(idx[.., ..5], cache);    // prefill 5
        using var middle = model.forward(idx[.., 5..8], cache);  // 3 at once (offset mask)
        var steps = Enumerable.Range(8, 4).Select(i => model.forward(idx[.., i..(i + 1)], cache)).ToList(); // one at a time
        using var joined = cat([first, middle, .. steps], 1);
        Assert.True(full.allclose(joined, rtol: 0, atol: 1e-5));
        Assert.Equal(12, cache.Length);
        steps.ForEach(s => s.Dispose());
    }

    [Fact]
    public void LayerNormAndGeluFollowTheBooksFormulas()
    {
        manual_seed(123);
        using var x = randn(2, 5);
        using var norm = new LayerNorm(5);
        using var normalized = norm.forward(x);
        using var mean = x.mean([-1], keepdim: true);
        using var variance = x.var(-1, unbiased: false, keepdim: true);
        using var byHand = (x - mean) / (variance + 1e-5).sqrt();
        Assert.True(normalized.allclose(byHand, rtol: 0, atol: 1e-5));

        using var gelu = new Gelu();
        using var y = gelu.forward(x);
        using var formula = 0.5 * x * (1 + tanh(Math.Sqrt(2.0 / Math.PI) * (x + 0.044715 * x.pow(3))));
        Assert.True(y.allclose(formula, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void ConfigAcceptsBookAndHuggingFaceKeysAndRejectsBadOnes()
    {
        var book = GptConfig.Load(FixtureModel.BookConfig);
        var hf = GptConfig.Load(Path.Combine(FixtureModel.Dir, "config.json"));
        Assert.Equal(book with { DropRate = 0 }, hf with { DropRate = 0 });
        Assert.Equal(32, book.EmbDim);
        Assert.True(book.QkvBias);
        Assert.Contains("multiple of n_heads", Assert.Throws<BadInputException>(() => GptConfig.FromJson("""{"emb_dim": 30, "n_heads": 4}""")).Message);
        Assert.Contains("'n_layers' must be an integer", Assert.Throws<BadInputException>(() => GptConfig.FromJson("""{"emb_dim": 32, "n_layers": "two"}""")).Message);
        Assert.Contains("not a model config", Assert.Throws<BadInputException>(() => GptConfig.FromJson("""{"hello": 1}""")).Message);
        Assert.Contains("unknown preset", Assert.Throws<BadInputException>(() => GptConfig.Preset("gpt5")).Message);
    }

    [Fact]
    public void ConfigFilesAreReadStrictly()
    {
        BadInputException Refused(string json) => Assert.Throws<BadInputException>(() => GptConfig.FromJson(json, "c.json"));
        Assert.Equal("c.json: the key 'n_heads' is given more than once", Refused("""{"emb_dim": 32, "n_heads": 4, "n_heads": 8}""").Message);
        Assert.Equal("c.json: 'qkv_bias' must be true or false, got \"yes\"", Refused("""{"emb_dim": 32, "n_heads": 4, "qkv_bias": "yes"}""").Message);
        Assert.Equal("c.json: 'drop_rate' must be a number, got [0.1]", Refused("""{"emb_dim": 32, "n_heads": 4, "drop_rate": [0.1]}""").Message);
        Assert.Equal("c.json: 'n_embd' must be an integer up to 2147483647, got 3000000000", Refused("""{"n_embd": 3000000000}""").Message);
        Assert.StartsWith("c.json: these sizes give ", Refused("""{"emb_dim": 65536, "n_heads": 1, "n_layers": 2147483647}""").Message);
        // Keys LlmForge does not read (a Hugging Face config's many others) stay free.
        Assert.Equal(32, GptConfig.FromJson("""{"n_embd": 32, "n_head": 4, "architectures": ["GPT2LMHeadModel"], "n_ctx": 64, "format": 1}""").EmbDim);
    }

    [Fact]
    public void AModelBeyondMemoryIsRefusedBeforeAnyTensor()
    {
        var huge = Tiny with { ContextLength = 1_000_000_000, EmbDim = 768, NHeads = 12 };
        var refused = Assert.Throws<BadInputException>(() => new GptModel(huge));
        Assert.Contains("context_length 1000000000", refused.Message);
        Assert.Contains("of memory available", refused.Message);
        Assert.True(MemoryBudget.AvailableBytes() > 0);
        Assert.Equal("2.8 TB", MemoryBudget.Format(MemoryBudget.WeightBytes(huge with { VocabSize = 50257 })));
    }
}
