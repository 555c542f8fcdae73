using static LlmForge.Tests.LibtorchReference;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="GptDecodeStep"/>, a GPT decoding step on raw memory, against the model's forward through libtorch alone
/// (<see cref="DecodeLinear.Enabled"/> off: libtorch's norms, products, attention and cache): the same logits to float
/// rounding step after step, for one sequence, a batch sharing one cache, and sequences with caches of their own at
/// different lengths and capacities (<see cref="KvCache.Rows"/>); null wherever it must leave the step to the model;
/// and a refused step that leaves the caches as they were.
/// </summary>
public sealed class GptDecodeStepTests
{
    /// <summary>A small model with every part random (biases, norms' scale and shift), in eval mode.</summary>
    static GptModel Model(int embDim, int heads, ScalarType dtype, int context = 40)
    {
        manual_seed(embDim + heads);
        var model = new GptModel(new GptConfig { VocabSize = 97, ContextLength = context, EmbDim = embDim, NHeads = heads, NLayers = 2, DropRate = 0.1, QkvBias = true });
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("scale")) parameter.copy_(rand_like(parameter) + 0.5);
                else if (name.EndsWith("shift") || name.EndsWith("bias")) parameter.copy_(randn_like(parameter) * 0.1);
        model.to(dtype);
        model.eval();
        return model;
    }

    // 64 wide with 16-value heads: vdpbf16ps rows and bf16 attention in pairs; 24 wide with 8-value heads: the managed
    // rows (24 columns are no whole 32-column block) and widened attention rows. Measured (here and in LlamaDecodeStepTests):
    // fp32 within 2.4e-7 of the largest logit, bf16 within 0.0089, about two bf16 steps (1/256 of a value each), where a
    // sum summed in another order rounds to the neighbouring bf16 value. The bounds allow about four times that.
    public static TheoryData<int, int, ScalarType, double> Shapes => new()
    {
        { 64, 4, ScalarType.Float32, 1e-6 },
        { 24, 3, ScalarType.Float32, 1e-6 },
        { 64, 4, ScalarType.BFloat16, 1.0 / 64 },
        { 24, 3, ScalarType.BFloat16, 1.0 / 64 },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void OneSequenceGetsLibtorchsLogitsStepAfterStep(int embDim, int heads, ScalarType dtype, double tolerance)
    {
        using var model = Model(embDim, heads, dtype);
        using var noGrad = no_grad();
        OneSequenceMatches(model, (ids, cache) => GptDecodeStep.TryForward(model, ids, cache), [5, 17, 3, 88, 41], 20, tolerance);
        // From an empty cache too: the step makes the cache's buffers itself.
        using var empty = model.NewKvCache(8);
        using var emptyReference = model.NewKvCache(8);
        var first = GptDecodeStep.TryForward(model, Ids(9), empty);
        Assert.NotNull(first);
        Assert.True(Difference(first, Run(() => model.forward(Ids(9), emptyReference))) <= tolerance);
        Assert.Equal(1, empty.Length);
    }

    [Theory, MemberData(nameof(Shapes))]
    public void SequencesWithCachesOfTheirOwnGetWhatEachGetsAlone(int embDim, int heads, ScalarType dtype, double tolerance)
    {
        using var model = Model(embDim, heads, dtype);
        using var noGrad = no_grad();
        // Three sequences with prompts of 1, 6 and 3 tokens and caches of 12, 30 and 9 positions.
        SequencesWithOwnCachesMatch(model, (ids, cache) => GptDecodeStep.TryForward(model, ids, cache), [[4], [60, 2, 9, 33, 71, 18], [40, 41, 42]], [12, 30, 9], tolerance);
    }

    [Theory, MemberData(nameof(Shapes))]
    public void ABatchSharingOneCacheGetsLibtorchsLogits(int embDim, int heads, ScalarType dtype, double tolerance)
    {
        using var model = Model(embDim, heads, dtype);
        using var noGrad = no_grad();
        using var ours = model.NewKvCache(20);
        using var reference = model.NewKvCache(20);
        var prompt = tensor(new long[] { 1, 2, 3, 4, 50, 60, 70, 80 }, [2, 4]);
        model.forward(prompt, ours);
        Run(() => model.forward(prompt, reference));
        using (DecodeLinear.OneThreadAround(1))
            for (int step = 0; step < 5; step++)
            {
                var ids = Ids(step + 10, step + 40);
                var logits = GptDecodeStep.TryForward(model, ids, ours);
                Assert.NotNull(logits);
                var expected = Run(() => model.forward(ids, reference));
                Assert.True(Difference(logits, expected) <= tolerance, $"step {step}: {Difference(logits, expected)}");
                Assert.Equal(5 + step, ours.Length);
            }
    }

    [Fact]
    public void LeavesToTheModelWhatItDoesNotCover()
    {
        using var model = Model(64, 4, ScalarType.Float32);
        using var noGrad = no_grad();
        using var cache = model.NewKvCache(10);
        model.forward(tensor(new long[] { 1, 2 }, [1, 2]), cache);
        Assert.NotNull(GptDecodeStep.TryForward(model, Ids(3), cache));
        // Several tokens (a prompt), an id out of the vocabulary, several rows outside a decoding step.
        Assert.Null(GptDecodeStep.TryForward(model, tensor(new long[] { 3, 4 }, [1, 2]), cache));
        Assert.Null(GptDecodeStep.TryForward(model, Ids(97), cache));
        Assert.Null(GptDecodeStep.TryForward(model, Ids(-1), cache));
        Assert.Null(GptDecodeStep.TryForward(model, Ids(3, 4), cache));
        // The fast paths off, the explicit attention chosen, training (dropout on), a gradient being recorded.
        DecodeLinear.Enabled = false;
        try { Assert.Null(GptDecodeStep.TryForward(model, Ids(3), cache)); }
        finally { DecodeLinear.Enabled = true; }
        model.UseFusedAttention = false;
        Assert.Null(GptDecodeStep.TryForward(model, Ids(3), cache));
        model.UseFusedAttention = true;
        model.train();
        Assert.Null(GptDecodeStep.TryForward(model, Ids(3), cache));
        model.eval();
        using (enable_grad()) Assert.Null(GptDecodeStep.TryForward(model, Ids(3), cache));
        Assert.Equal(3, cache.Length);
    }

    [Fact]
    public void AModelWithLoRAIsLeftToItsOwnForwardWhichStillMatchesLibtorch()
    {
        using var model = Model(64, 4, ScalarType.Float32);
        LoRA.Apply(model, rank: 4, alpha: 8);
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("lora.B")) parameter.copy_(randn_like(parameter) * 0.1); // B starts at zero: make the adapters count
        model.eval();
        using var noGrad = no_grad();
        using var cache = model.NewKvCache(10);
        using var reference = model.NewKvCache(10);
        var prompt = tensor(new long[] { 1, 2, 3 }, [1, 3]);
        model.forward(prompt, cache);
        Run(() => model.forward(prompt, reference));
        Assert.Null(GptDecodeStep.TryForward(model, Ids(4), cache));
        Assert.True(Difference(model.forward(Ids(4), cache), Run(() => model.forward(Ids(4), reference))) <= 1e-5);
    }

    [Fact]
    public void AStepThatDoesNotFitIsRefusedAndTheCachesKeepTheirTokens()
    {
        using var model = Model(64, 4, ScalarType.Float32, context: 6);
        using var noGrad = no_grad();
        // A cache of 4 positions, full.
        using var full = model.NewKvCache(4);
        model.forward(tensor(new long[] { 1, 2, 3, 4 }, [1, 4]), full);
        var error = Assert.Throws<InvalidOperationException>(() => GptDecodeStep.TryForward(model, Ids(5), full));
        Assert.Contains("holds 4 positions", error.Message);
        Assert.Equal(4, full.Length);
        // The context's end: 6 positions.
        using var whole = model.NewKvCache(10);
        model.forward(tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [1, 6]), whole);
        Assert.Throws<ArgumentException>(() => GptDecodeStep.TryForward(model, Ids(7), whole));
        Assert.Equal(6, whole.Length);
        // Sequences decoded together, one of them full: none of them takes the token.
        using var roomy = model.NewKvCache(10);
        model.forward(tensor(new long[] { 1 }, [1, 1]), roomy);
        using (DecodeLinear.OneThreadAround(1))
        using (var rows = KvCache.Rows([roomy, full]))
            Assert.Throws<InvalidOperationException>(() => GptDecodeStep.TryForward(model, Ids(2, 3), rows));
        Assert.Equal(1, roomy.Length);
        Assert.Equal(4, full.Length);
    }
}
