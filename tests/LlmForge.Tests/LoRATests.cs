namespace LlmForge.Tests;

/// <summary>
/// LoRA as appendix E builds it (issue 11): the adapter's initialisation and scale, which layers are
/// wrapped and what trains, the book's trainable count for GPT-2 small, merging, and a LoRA model
/// through a checkpoint and an export. In the serial collection: the adapters are drawn from torch's
/// global generator, and the tests compare draws made after <c>manual_seed</c>.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LoRATests() : ScratchDirectory("llmforge-lora")
{
    const int Rank = 4;
    const double Alpha = 8;

    static GptModel Tiny(int? classes = null, string[]? labels = null)
    {
        manual_seed(5);
        var model = new GptModel(GptConfig.Load(TestPaths.TinyConfig) with { DropRate = 0 });
        if (classes is int n) model.ReplaceOutputHead(nn.Linear(32, n, hasBias: true), labels);
        model.eval();
        return model;
    }

    static Tensor SomeIds() => tensor(new long[] { 40, 1807, 3619, 402, 271, 10899, 2138, 257, 7026, 15632 }, [1, 10]);

    /// <summary>Gives every adapter's B values (a new one is zeros, so the adapters would add nothing to compare).</summary>
    static void TrainedLookingAdapters(ILanguageModel model)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.Module.named_parameters().Where(p => p.name.EndsWith(".lora.B")))
            p.copy_(randn(p.shape).mul(0.1));
    }

    static Dictionary<string, Tensor> Snapshot(ILanguageModel model) =>
        model.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void TheAdapterIsKaimingUniformFromTorchsSeededGeneratorAndBIsZero()
    {
        manual_seed(123);
        using var layer = new LoRALayer(64, 48, rank: 4, alpha: 8);
        Assert.Equal([64L, 4], layer.A.shape);
        Assert.Equal([4L, 48], layer.B.shape);
        Assert.Equal(0, layer.B.abs().max().item<float>());
        // kaiming_uniform_(A, a=sqrt(5)): torch's fan_in of a [in_dim, rank] tensor is its second size, the rank.
        double bound = Math.Sqrt(6.0 / ((1 + 5.0) * 4));
        Assert.Equal(0.5, bound, 12);
        float max = layer.A.abs().max().item<float>();
        Assert.True(max <= bound && max > 0.45, $"max |A| {max}, bound {bound}");
        // The very draws of uniform_(-bound, bound) after the same seed: a seed reproduces a run's adapters.
        manual_seed(123);
        using var draws = empty(64, 4).uniform_(-bound, bound);
        Assert.True(layer.A.allclose(draws, rtol: 0, atol: 0));
        manual_seed(123);
        using var again = new LoRALayer(64, 48, rank: 4, alpha: 8);
        Assert.True(layer.A.allclose(again.A, rtol: 0, atol: 0));
    }

    [Fact]
    public void AWrappedLinearAddsAlphaOverRankTimesXAB()
    {
        manual_seed(7);
        using var wrapped = new LinearWithLoRA(nn.Linear(32, 24, hasBias: true), Rank, Alpha);
        Assert.Equal(["linear.weight", "linear.bias", "lora.A", "lora.B"], wrapped.named_parameters().Select(p => p.name).ToArray());
        using var x = randn(3, 5, 32);
        // B starts at zero: a new adapter changes nothing.
        Assert.True(wrapped.forward(x).allclose(wrapped.linear.forward(x), rtol: 0, atol: 0));
        using (no_grad()) wrapped.lora.B.copy_(randn(Rank, 24));
        using var expected = wrapped.linear.forward(x) + (Alpha / Rank) * x.matmul(wrapped.lora.A).matmul(wrapped.lora.B);
        Assert.True(wrapped.forward(x).allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void EveryLinearLayerOfTheBlocksAndTheHeadIsWrappedAndOnlyAdaptersTrain()
    {
        using var model = Tiny();
        using var ids = SomeIds();
        using var before = model.forward(ids, null);
        var names = model.named_parameters().Select(p => p.name).ToList();

        Assert.Equal(2 * 6 + 1, LoRA.Apply(model, Rank, Alpha));
        Assert.Equal(LinearWrapping.Paths(model), LoRA.WrappedPaths(model));
        var wrappedNames = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var path in new[] { "trf_blocks.0.att.W_query", "trf_blocks.1.att.out_proj", "trf_blocks.1.ff.layers.0", "trf_blocks.0.ff.layers.2", "out_head" })
        {
            Assert.Contains(path + ".linear.weight", wrappedNames);
            Assert.Contains(path + ".lora.A", wrappedNames);
            Assert.Contains(path + ".lora.B", wrappedNames);
        }
        // Embeddings and norms keep the book's names.
        Assert.All(names.Where(n => n.StartsWith("tok_emb") || n.StartsWith("pos_emb") || n.Contains("norm")), n => Assert.Contains(n, wrappedNames));
        Assert.Equal((Rank, Alpha), LoRA.Settings(model));
        Assert.True(model.HasVocabularyHead);
        Assert.Equal(50257, model.OutputSize);
        // New adapters add nothing.
        Assert.True(model.forward(ids, null).allclose(before, rtol: 0, atol: 0));

        long perBlock = 4 * (32 * Rank + Rank * 32) + (32 * Rank + Rank * 128) + (128 * Rank + Rank * 32);
        long head = 32 * Rank + Rank * 50257;
        Assert.Equal(2 * perBlock + head, LoRA.FreezeAllButAdapters(model));
        Assert.All(model.named_parameters(), p => Assert.Equal(LoRA.IsAdapterParameter(p.name), p.parameter.requires_grad));
        Assert.Contains("already carries LoRA adapters", Assert.Throws<BadInputException>(() => LoRA.Apply(model, Rank, Alpha)).Message);
        using var other = Tiny();
        Assert.Contains("--lora-rank 0: expected a positive integer", Assert.Throws<BadInputException>(() => LoRA.Apply(other, 0, Alpha)).Message);
    }

    [Fact]
    public void Gpt2SmallWithATwoClassHeadHasTheBooksTrainableCountAtRank16()
    {
        // The real preset, built on the CPU (about 0.5 GB, a second or two): the count is the modules', not a formula's.
        using var model = new GptModel(GptConfig.Preset("gpt2-small"));
        model.ReplaceOutputHead(nn.Linear(768, 2, hasBias: true));
        Assert.Equal(12 * 6 + 1, LoRA.Apply(model, 16, 16));
        Assert.Equal(2_666_528, LoRA.FreezeAllButAdapters(model));
        Assert.Equal(2_666_528, model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
    }

    [Fact]
    public void AdaptersTrainThroughTheSharedStepWhileEverythingElseStaysPut()
    {
        using var model = Tiny(2, ["ham", "spam"]);
        LoRA.Apply(model, Rank, Alpha);
        long trainable = LoRA.FreezeAllButAdapters(model);
        var before = Snapshot(model);
        using var optimizer = AdamW.For(model, lr: 1e-2, weightDecay: 0.1);
        Assert.Equal(trainable, optimizer.TrainableCount);
        var batch = (Ids: SomeIds(), Labels: tensor(new long[] { 1 }));
        var step = new TrainingStep<(Tensor Ids, Tensor Labels)>(model, optimizer, (m, b) =>
        {
            using var scope = NewDisposeScope();
            var logits = m.forward(b.Ids, null)[.., -1, ..];
            return (nn.functional.cross_entropy(logits, b.Labels).MoveToOuterDisposeScope(), 1L);
        });
        model.train();
        double first = step.Run([batch], 1e-2, dropoutSeed: 1).Loss, last = first;
        for (int i = 2; i <= 5; i++) last = step.Run([batch], 1e-2, dropoutSeed: i).Loss;
        Assert.True(last < first, $"the loss went from {first} to {last}");
        foreach (var (name, p) in model.named_parameters())
            Assert.Equal(LoRA.IsAdapterParameter(name), !p.detach().allclose(before[name], rtol: 0, atol: 0));
    }

    [Fact]
    public void MergingFoldsTheAdaptersIntoPlainLayersWithTheSameLogits()
    {
        using var model = Tiny(2, ["ham", "spam"]);
        var plainNames = model.named_parameters().Select(p => p.name).Order().ToList();
        LoRA.Apply(model, Rank, Alpha);
        TrainedLookingAdapters(model);
        using var ids = SomeIds();
        using var wrapped = model.forward(ids, null);
        using var plain = Tiny(2);
        Assert.False(wrapped.allclose(plain.forward(ids, null), rtol: 0, atol: 1e-3)); // the adapters do something

        Assert.Equal(13, LoRA.Merge(model));
        Assert.Equal(plainNames, model.named_parameters().Select(p => p.name).Order().ToList());
        Assert.Null(LoRA.Settings(model));
        Assert.Null(model.ConfigJson()["lora"]);
        Assert.True(model.forward(ids, null).allclose(wrapped, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void ALoRACheckpointHoldsBaseAndAdaptersApartAndLoadsWithIdenticalLogits()
    {
        using var model = Tiny(2, ["ham", "spam"]);
        LoRA.Apply(model, Rank, Alpha);
        TrainedLookingAdapters(model);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "lora"), model);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!;
        Assert.Equal("""{"rank":4,"alpha":8}""", config["lora"]!.ToJsonString());
        Assert.Equal("""["ham","spam"]""", config["output_head"]!["labels"]!.ToJsonString());
        using (var weights = SafeTensorsFile.Open(Path.Combine(checkpoint, "model.safetensors")))
        {
            Assert.Contains("trf_blocks.0.att.W_query.linear.weight", weights.Names);
            Assert.Contains("trf_blocks.0.att.W_query.lora.A", weights.Names);
            Assert.Contains("out_head.linear.bias", weights.Names);
            Assert.Contains("out_head.lora.B", weights.Names);
            Assert.Equal([Rank, 2L], weights.Shape("out_head.lora.B"));
        }

        using var loaded = ModelLoader.Load(checkpoint);
        Assert.Equal((Rank, Alpha), LoRA.Settings(loaded.Model));
        Assert.Equal(["ham", "spam"], loaded.Labels!);
        using var ids = SomeIds();
        Assert.True(loaded.Model.forward(ids, null).allclose(model.forward(ids, null), rtol: 0, atol: 0));
        // In bf16 (--dtype): the adapters are converted with the rest, and still add their part.
        using var half = ModelLoader.Load(checkpoint, dtype: ScalarType.BFloat16);
        Assert.All(half.Model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var halfLogits = half.Model.forward(ids, null).to(ScalarType.Float32);
        Assert.True(halfLogits.allclose(model.forward(ids, null), rtol: 0, atol: 0.05));
        // A compute copy (mixed precision) has the same layers wrapped, so its parameters pair by name.
        using var copy = (GptModel)model.NewOfSameShape();
        Assert.Equal(model.named_parameters().Select(p => p.name).Order(), copy.named_parameters().Select(p => p.name).Order());
    }

    [Fact]
    public void ExportMergesALoRACheckpointAndTheExportGivesTheSameLogitsAndText()
    {
        using var model = Tiny();
        LoRA.Apply(model, Rank, Alpha);
        TrainedLookingAdapters(model);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "lora-lm"), model);
        string export = Path.Combine(_dir, "export");
        var exported = CliRunner.Run("export", "--model", checkpoint, "--out", export);
        Assert.True(exported.ExitCode == 0, exported.Stderr);

        using var loaded = ModelLoader.Load(export);
        Assert.Equal("huggingface", loaded.Layout);
        Assert.Null(LoRA.Settings(loaded.Model));
        using var ids = SomeIds();
        Assert.True(loaded.Model.forward(ids, null).allclose(model.forward(ids, null), rtol: 0, atol: 1e-5));
        string[] generate = ["generate", "--prompt", "I had always thought", "--max-new-tokens", "8"];
        var fromCheckpoint = CliRunner.Run([.. generate, "--model", checkpoint], null);
        var fromExport = CliRunner.Run([.. generate, "--model", export], null);
        Assert.True(fromCheckpoint.ExitCode == 0, fromCheckpoint.Stderr);
        Assert.Equal(fromCheckpoint.Stdout, fromExport.Stdout);
    }

    [Theory]
    [InlineData("""{"rank": 0, "alpha": 8}""", "'lora' must be {\"rank\": a positive integer, \"alpha\": a number}")]
    [InlineData("""{"rank": 4}""", "'lora' must be {\"rank\": a positive integer, \"alpha\": a number}")]
    [InlineData("""{"rank": 4, "alpha": 8}""", "'lora' is set but")]
    public void AWrongLoRAConfigIsRefusedThroughTheCli(string lora, string expected)
    {
        // A plain checkpoint: with "rank" 4 it holds no adapters to load.
        using var model = Tiny();
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "plain"), model);
        string path = Path.Combine(checkpoint, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["lora"] = JsonNode.Parse(lora);
        File.WriteAllText(path, config.ToJsonString());
        var list = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile)))!.AsObject();
        list["config.json"] = FileHash.Sha256(path);
        File.WriteAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile), list.ToJsonString());
        CliRunner.AssertBadInput(CliRunner.Run("model", "info", "--model", checkpoint), $"{path}: {expected}");
    }
}
