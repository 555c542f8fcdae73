using LlmForge.Generation;

namespace LlmForge.Tests;

/// <summary>The model reproduces the independent PyTorch implementation's numbers from both weight layouts.</summary>
public class GptModelFixtureTests
{
    public static TheoryData<string> Layouts => new() { "huggingface", "book" };

    static LoadedModel Load(string layout) => layout == "huggingface"
        ? ModelLoader.Load(FixtureModel.Dir)
        : ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig);

    [Theory, MemberData(nameof(Layouts))]
    public void LastPositionLogitsMatchTheReference(string layout)
    {
        using var loaded = Load(layout);
        Assert.Equal(layout, loaded.Layout);
        int[] prompt = FixtureModel.Ints("prompt_ids");
        Assert.Equal(prompt, loaded.Tokenizer.Encode("Every effort moves you"));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = loaded.Model.forward(tensor(prompt.Select(i => (long)i).ToArray(), [1, prompt.Length]))[0, -1];
        float[] values = logits.data<float>().ToArray();
        double[] first8 = FixtureModel.Doubles("last_logits_first8");
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(values[i] - first8[i]) < 1e-4, $"logit {i}: expected {first8[i]}, got {values[i]}");
        var (topValues, topIds) = logits.topk(5);
        Assert.Equal(FixtureModel.Ints("last_logits_top5_ids"), topIds.data<long>().ToArray().Select(i => (int)i));
        double[] expectedTop = FixtureModel.Doubles("last_logits_top5_values");
        float[] gotTop = topValues.data<float>().ToArray();
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(gotTop[i] - expectedTop[i]) < 1e-4, $"top {i}: expected {expectedTop[i]}, got {gotTop[i]}");
    }

    [Theory, MemberData(nameof(Layouts))]
    public void GreedyDecodingMatchesTheReferenceWithAndWithoutCache(string layout)
    {
        using var loaded = Load(layout);
        int[] prompt = FixtureModel.Ints("prompt_ids");
        int[] expected = FixtureModel.Ints("greedy_20");
        foreach (bool fused in new[] { true, false })
        foreach (bool cache in new[] { true, false })
        {
            loaded.Model.UseFusedAttention = fused;
            var ids = prompt.Concat(TextGenerator.Generate(loaded.Model, prompt, new GenerationOptions { MaxNewTokens = 20, UseKvCache = cache })).ToArray();
            Assert.True(expected.SequenceEqual(ids), $"fused={fused} cache={cache}: got [{string.Join(",", ids)}]");
        }
    }

    [Theory, MemberData(nameof(Layouts))]
    public void VerdictLossMatchesTheReference(string layout)
    {
        using var loaded = Load(layout);
        int[] ids = loaded.Tokenizer.Encode(File.ReadAllText(TestPaths.Verdict));
        var loader = new DataLoader(new GptDataset(ids, 64, 64), batchSize: 8, dropLast: false);
        double loss = Loss.CalcLossLoader(loaded.Model, loader);
        // Batches are equal-sized except the last; weight by windows to get the mean over all of them.
        double weighted = 0;
        int windows = 0;
        using (no_grad())
            foreach (var batch in loader.Batches())
            {
                using var l = Loss.CalcLossBatch(loaded.Model, batch.InputTensor(), batch.TargetTensor());
                weighted += l.item<float>() * batch.BatchSize;
                windows += batch.BatchSize;
            }
        Assert.Equal(80, windows);
        double expected = FixtureModel.Expected.GetProperty("verdict_loss_ctx64").GetDouble();
        Assert.True(Math.Abs(weighted / windows - expected) < 1e-4, $"expected {expected}, got {weighted / windows}");
        Assert.True(Math.Abs(loss - expected) < 1e-2);
    }

    [Fact]
    public void ParameterCountIsTheReferences()
    {
        var config = GptConfig.Load(FixtureModel.BookConfig);
        long expected = FixtureModel.Expected.GetProperty("parameter_count").GetInt64();
        Assert.Equal(expected, config.ParameterCount());
        using var model = new GptModel(config);
        Assert.Equal(expected, model.ParameterCount());
    }
}
