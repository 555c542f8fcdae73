namespace LlmForge.Tests;

/// <summary>Damaged or mismatched weight files fail with a message naming the file, the tensor and the shapes.</summary>
public sealed class WeightLoadingTests() : ScratchDirectory("llmforge-weights")
{
    /// <summary>A copy of the fixture's Hugging Face files with <paramref name="change"/> applied to its tensors.</summary>
    string ModifiedFixture(Func<List<(string Name, Tensor Tensor)>, List<(string, Tensor)>> change)
    {
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(FixtureModel.Dir, "config.json"), Path.Combine(dir, "config.json"));
        using var source = SafeTensorsFile.Open(FixtureModel.HfSafetensors);
        var tensors = source.Names.Select(n => (n, source.Read(n))).ToList();
        SafeTensorsFile.Write(Path.Combine(dir, "model.safetensors"), change(tensors));
        foreach (var (_, t) in tensors) t.Dispose();
        return dir;
    }

    [Fact]
    public void RewrittenFixtureStillLoadsAndMatches()
    {
        string dir = ModifiedFixture(t => t);
        using var loaded = ModelLoader.Load(dir);
        using var original = ModelLoader.Load(FixtureModel.Dir);
        foreach (var ((name, a), (_, b)) in loaded.Model.named_parameters().Zip(original.Model.named_parameters()))
            Assert.True(a.allclose(b, rtol: 0, atol: 0), name);
    }

    [Fact]
    public void TransformerPrefixAndAnUntiedLmHeadLoad()
    {
        // transformers' own save_pretrained writes "transformer."-prefixed names and may add lm_head.weight.
        string dir = ModifiedFixture(t => t.Select(x => ("transformer." + x.Name, x.Tensor))
            .Append(("lm_head.weight", t.Single(x => x.Name == "wte.weight").Tensor * 2)).ToList());
        using var loaded = ModelLoader.Load(dir);
        using var original = ModelLoader.Load(FixtureModel.Dir);
        Assert.True(loaded.Model.tok_emb.weight!.allclose(original.Model.tok_emb.weight!, rtol: 0, atol: 0));
        using var doubled = original.Model.tok_emb.weight! * 2;
        Assert.True(loaded.Model.OutHeadWeight.allclose(doubled, rtol: 0, atol: 0));
    }

    [Fact]
    public void MisShapedTensorNamesItAndBothShapes()
    {
        string dir = ModifiedFixture(t => t.Select(x => x.Name == "h.0.attn.c_proj.weight" ? (x.Name, zeros(32, 31)) : x).ToList());
        var error = Assert.Throws<BadInputException>(() => ModelLoader.Load(dir));
        Assert.Contains("model.safetensors", error.Message);
        Assert.Contains("'h.0.attn.c_proj.weight' has shape [32, 31], expected [32, 32]", error.Message);
    }

    [Fact]
    public void ATensorOfTheWrongDtypeIsNamed()
    {
        string dir = ModifiedFixture(t => t.Select(x => x.Name == "h.1.mlp.c_fc.bias" ? (x.Name, zeros(128, ScalarType.Int32)) : x).ToList());
        var error = Assert.Throws<BadInputException>(() => ModelLoader.Load(dir));
        Assert.Contains("'h.1.mlp.c_fc.bias' has dtype Int32, expected a floating-point type", error.Message);
    }

    [Fact]
    public void HeaderOffsetsPastTheEndAreRejected()
    {
        // A well-formed header whose tensor claims bytes the file does not have.
        string path = Path.Combine(_dir, "offsets.safetensors");
        byte[] header = System.Text.Encoding.UTF8.GetBytes("""{"wte.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]}}""");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)header.Length), .. header, .. new byte[16]]);
        var error = Assert.Throws<BadInputException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains("'wte.weight' has data offsets [0, 32) outside the 16 data bytes", error.Message);
    }

    [Fact]
    public void MissingAndExtraTensorsAreNamed()
    {
        string dir = ModifiedFixture(t => t.Where(x => x.Name != "h.1.ln_2.bias").Append(("h.0.attn.surprise", zeros(3))).ToList());
        var error = Assert.Throws<BadInputException>(() => ModelLoader.Load(dir));
        Assert.Contains("missing tensor 'h.1.ln_2.bias'", error.Message);
        Assert.Contains("unexpected tensor 'h.0.attn.surprise' (shape [3])", error.Message);
    }

    [Fact]
    public void AConfigThatDoesNotFitTheWeightsIsNamed()
    {
        string config = Path.Combine(_dir, "three-layers.json");
        File.WriteAllText(config, File.ReadAllText(FixtureModel.BookConfig).Replace("\"n_layers\": 2", "\"n_layers\": 3"));
        var error = Assert.Throws<BadInputException>(() => ModelLoader.Load(FixtureModel.BookPth, config));
        Assert.Contains("missing tensor 'trf_blocks.2.", error.Message);
    }

    [Fact]
    public void TruncatedAndGarbledFilesAreRejected()
    {
        string truncated = Path.Combine(_dir, "truncated.safetensors");
        byte[] bytes = File.ReadAllBytes(FixtureModel.HfSafetensors);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains("outside the", Assert.Throws<BadInputException>(() => ModelLoader.Load(truncated, FixtureModel.BookConfig)).Message);

        string garbled = Path.Combine(_dir, "garbled.safetensors");
        File.WriteAllBytes(garbled, [.. BitConverter.GetBytes(20L), .. "{not json at all!!!}"u8]);
        Assert.Contains("not valid JSON", Assert.Throws<BadInputException>(() => ModelLoader.Load(garbled, FixtureModel.BookConfig)).Message);

        string huge = Path.Combine(_dir, "huge-header.safetensors");
        File.WriteAllBytes(huge, [.. BitConverter.GetBytes(1L << 40), 1, 2, 3]);
        Assert.Contains("header length", Assert.Throws<BadInputException>(() => ModelLoader.Load(huge, FixtureModel.BookConfig)).Message);

        string notPth = Path.Combine(_dir, "broken.pth");
        File.WriteAllBytes(notPth, [(byte)'P', (byte)'K', 3, 4, 0, 0, 0]);
        Assert.Contains("not a PyTorch state dict", Assert.Throws<BadInputException>(() => ModelLoader.Load(notPth, FixtureModel.BookConfig)).Message);
    }

    [Fact]
    public void PthWithoutConfigNeedsAGpt2Width()
    {
        string lonely = Path.Combine(_dir, "lonely");
        Directory.CreateDirectory(lonely);
        string pth = Path.Combine(lonely, "model.pth");
        File.Copy(FixtureModel.BookPth, pth);
        var error = Assert.Throws<BadInputException>(() => ModelLoader.Load(pth));
        Assert.Contains("width 32", error.Message);
        Assert.Contains("--config", error.Message);
    }

    [Fact]
    public void ConfigIsInferredFromShapesAtAGpt2Width()
    {
        var config = new GptConfig { VocabSize = 10, ContextLength = 8, EmbDim = 768, NHeads = 12, NLayers = 1, QkvBias = true, DropRate = 0 };
        using var model = new GptModel(config);
        string path = Path.Combine(_dir, "book-layout.safetensors");
        SafeTensorsFile.Write(path, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        using var loaded = ModelLoader.Load(path);
        Assert.Equal(config, loaded.Config);
        Assert.Equal("book", loaded.Layout);
    }
}
