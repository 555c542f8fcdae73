namespace LlmForge.Tests;

/// <summary>Export to the Hugging Face GPT-2 layout, and loading it back in every dtype.</summary>
public sealed class ExportTests() : ScratchDirectory("llmforge-export")
{
    static float[] LastLogits(GptModel model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] prompt = FixtureModel.Ints("prompt_ids");
        return model.forward(tensor(prompt.Select(i => (long)i).ToArray(), [1, prompt.Length]))[0, -1].to(ScalarType.Float32).data<float>().ToArray();
    }

    [Fact]
    public void RoundTripReproducesTheFixtureLogits()
    {
        string exported = Path.Combine(_dir, "fp32");
        using (var book = ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig))
            HfGpt2Export.Export(book.Model, exported);
        using var loaded = ModelLoader.Load(exported);
        float[] logits = LastLogits(loaded.Model);
        double[] expected = FixtureModel.Doubles("last_logits_first8");
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(logits[i] - expected[i]) < 1e-4, $"logit {i}");
        using var original = ModelLoader.Load(FixtureModel.Dir);
        float[] reference = LastLogits(original.Model);
        Assert.True(logits.Zip(reference).All(p => Math.Abs(p.First - p.Second) < 1e-6));
    }

    [Fact]
    public void TheLayoutIsOpenAisExactly()
    {
        string exported = Path.Combine(_dir, "layout");
        using (var book = ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig))
            HfGpt2Export.Export(book.Model, exported);
        using var ours = SafeTensorsFile.Open(Path.Combine(exported, "model.safetensors"));
        using var theirs = SafeTensorsFile.Open(FixtureModel.HfSafetensors);
        Assert.Equal(theirs.Names, ours.Names);
        foreach (var name in theirs.Names)
        {
            Assert.Equal(theirs.Shape(name), ours.Shape(name));
            Assert.Equal(theirs.DType(name), ours.DType(name));
            using var a = theirs.Read(name);
            using var b = ours.Read(name);
            Assert.True(a.allclose(b, rtol: 0, atol: 0), name);
        }
        Assert.Equal("pt", ours.Metadata["format"]);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(exported, "config.json")))!;
        var original = JsonNode.Parse(File.ReadAllText(Path.Combine(FixtureModel.Dir, "config.json")))!;
        foreach (var key in new[] { "model_type", "vocab_size", "n_positions", "n_ctx", "n_embd", "n_layer", "n_head", "activation_function", "layer_norm_epsilon", "bos_token_id", "eos_token_id" })
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(original[key], config[key])
                || original[key]!.GetValue<double>() == config[key]!.GetValue<double>(), key);
        Assert.True(config["tie_word_embeddings"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData(ScalarType.Float16, 3e-3)]
    [InlineData(ScalarType.BFloat16, 3e-2)]
    public void HalfPrecisionExportsLoadIntoFp32OrStayHalf(ScalarType dtype, double tolerance)
    {
        string exported = Path.Combine(_dir, dtype.ToString());
        using (var fixture = ModelLoader.Load(FixtureModel.Dir))
            HfGpt2Export.Export(fixture.Model, exported, dtype);
        using (var file = SafeTensorsFile.Open(Path.Combine(exported, "model.safetensors")))
            Assert.All(file.Names, n => Assert.Equal(dtype, file.DType(n)));
        Assert.True(new FileInfo(Path.Combine(exported, "model.safetensors")).Length < new FileInfo(FixtureModel.HfSafetensors).Length * 0.55);

        double[] expected = FixtureModel.Doubles("last_logits_first8");
        using (var asFp32 = ModelLoader.Load(exported))
        {
            Assert.Equal(ScalarType.Float32, asFp32.Model.tok_emb.weight!.dtype);
            float[] logits = LastLogits(asFp32.Model);
            for (int i = 0; i < 8; i++) Assert.True(Math.Abs(logits[i] - expected[i]) < tolerance, $"logit {i}: {logits[i]} vs {expected[i]}");
        }
        using var kept = ModelLoader.Load(exported, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, kept.Model.tok_emb.weight!.dtype);
        // The top id survives bf16 arithmetic (its lead over the second is 0.02).
        Assert.Equal(FixtureModel.Ints("last_logits_top5_ids")[0], LastLogits(kept.Model).Select((v, i) => (v, i)).MaxBy(p => p.v).i);
    }

    [Fact]
    public void AnUntiedHeadIsWrittenAsLmHead()
    {
        manual_seed(3);
        using var model = new GptModel(new GptConfig { VocabSize = 50257, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 1 });
        model.eval();
        string exported = Path.Combine(_dir, "untied");
        HfGpt2Export.Export(model, exported);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(exported, "config.json")))!;
        Assert.False(config["tie_word_embeddings"]!.GetValue<bool>());
        using var loaded = ModelLoader.Load(exported);
        using var idx = tensor(new long[] { 1, 2, 3 }, [1, 3]);
        using var a = model.forward(idx);
        using var b = loaded.Model.forward(idx);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void AnExistingDirectoryIsNotOverwrittenUnlessAsked()
    {
        string target = Path.Combine(_dir, "taken");
        using var fixture = ModelLoader.Load(FixtureModel.Dir);
        HfGpt2Export.Export(fixture.Model, target);
        byte[] first = File.ReadAllBytes(Path.Combine(target, "model.safetensors"));
        Assert.Contains("pass --overwrite", Assert.Throws<BadInputException>(() => HfGpt2Export.Export(fixture.Model, target, ScalarType.Float16)).Message);
        Assert.Equal(first, File.ReadAllBytes(Path.Combine(target, "model.safetensors")));
        HfGpt2Export.Export(fixture.Model, target, ScalarType.Float16, overwrite: true);
        Assert.True(new FileInfo(Path.Combine(target, "model.safetensors")).Length < first.Length * 0.55);

        // Files that are not an export's are never overwritten, with or without --overwrite.
        File.WriteAllText(Path.Combine(target, "keep.txt"), "mine");
        var refused = Assert.Throws<BadInputException>(() => HfGpt2Export.Export(fixture.Model, target, overwrite: true));
        Assert.Contains("(keep.txt)", refused.Message);
        Assert.DoesNotContain("--overwrite", refused.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(target, "model.safetensors")));
    }
}
