namespace LlmForge.Tests;

/// <summary>
/// The opened core (issue 10) on tiny models: a replaced two-class head trains through the shared
/// training step, frozen weights stay bit-identical and get no optimiser state, and a linear layer
/// wrapped by a test-only adapter trains while the wrapped weight stays fixed.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ModelContractTests
{
    static readonly GptConfig Tiny = new() { VocabSize = 50257, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 2, DropRate = 0.1 };

    /// <summary>Fixed windows of the verdict with a made-up label each: enough to see a loss fall.</summary>
    static List<(long[] Ids, long Label)> Examples()
    {
        int[] ids = Text.TokenizerLoader.Gpt2Default.Encode(File.ReadAllText(TestPaths.Verdict));
        return Enumerable.Range(0, 8).Select(i => (ids.Skip(i * 16).Take(16).Select(x => (long)x).ToArray(), (long)(i % 2))).ToList();
    }

    /// <summary>Chapter 6's loss: cross-entropy of the last position's logits against the class.</summary>
    static (Tensor Loss, long Count) LastTokenLoss(ILanguageModel model, List<(long[] Ids, long Label)> batch)
    {
        using var scope = NewDisposeScope();
        var inputs = tensor(batch.SelectMany(e => e.Ids).ToArray(), [batch.Count, 16]);
        var labels = tensor(batch.Select(e => e.Label).ToArray());
        var logits = model.forward(inputs, null)[.., -1, ..];
        return (nn.functional.cross_entropy(logits, labels).MoveToOuterDisposeScope(), batch.Count);
    }

    static Dictionary<string, Tensor> Snapshot(ILanguageModel model) =>
        model.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Fact]
    public void AReplacedTwoClassHeadTrainsThroughTheSharedStepAndFrozenWeightsStayPut()
    {
        manual_seed(1);
        using var model = new GptModel(Tiny);
        model.ReplaceOutputHead(nn.Linear(Tiny.EmbDim, 2, hasBias: true));
        Assert.Equal(2, model.OutputSize);
        Assert.False(model.HasVocabularyHead);
        Assert.Contains("out_head.bias", model.named_parameters().Select(p => p.name));

        // The book's choice: train the last block, the final norm and the head; freeze the rest.
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = name.StartsWith("trf_blocks.1.") || name.StartsWith("final_norm.") || name.StartsWith("out_head.");
        var before = Snapshot(model);
        using var optimizer = AdamW.For(model, lr: 1e-3, weightDecay: 0.1);
        long trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Sum(p => p.parameter.numel());
        Assert.Equal(trainable, optimizer.TrainableCount);

        var step = new TrainingStep<List<(long[] Ids, long Label)>>(model, optimizer, LastTokenLoss);
        var examples = Examples();
        model.train();
        double first = step.Run([examples], 1e-3, dropoutSeed: 1).Loss;
        double last = first;
        for (int i = 2; i <= 30; i++) last = step.Run([examples], 1e-3, dropoutSeed: i).Loss;
        Assert.True(last < first * 0.5, $"the loss went from {first} to {last}");

        foreach (var (name, p) in model.named_parameters())
        {
            bool same = p.detach().allclose(before[name], rtol: 0, atol: 0);
            Assert.True(p.requires_grad ? !same : same, $"{name}: trainable {p.requires_grad}, unchanged {same}");
        }
        // Optimiser state exists for the trainable weights only: a frozen run's checkpoint stays small.
        var stateNames = optimizer.StateTensors().Select(t => t.Name).ToList();
        Assert.All(stateNames, n => Assert.Matches(@"^exp_avg(_sq)?\.(trf_blocks\.1\.|final_norm\.|out_head\.)", n));
        Assert.Equal(2 * model.named_parameters().Count(p => p.parameter.requires_grad), stateNames.Count);

        // Its checkpoint names the architecture and the head, holds only the trainable weights' state, and loads back.
        string dir = Directory.CreateTempSubdirectory("llmforge-contract").FullName;
        try
        {
            string checkpoint = Interop.Checkpoint.Save(Path.Combine(dir, "step-000030"), model, optimizerState: optimizer.StateTensors());
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!;
            Assert.Equal("gpt2", config["architecture"]!.GetValue<string>());
            Assert.Equal(2, config["output_head"]!["size"]!.GetValue<int>());
            using (var state = Interop.SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors")))
                Assert.Equal(stateNames.Order(), state.Names.Order());
            using var loaded = Interop.ModelLoader.Load(checkpoint);
            Assert.Equal(2, loaded.Model.OutputSize);
            model.eval();
            using var inputs = tensor(examples[0].Ids, [1, 16]);
            Assert.True(model.forward(inputs, null).allclose(loaded.Model.forward(inputs, null), rtol: 0, atol: 0));

            // A family this version does not build is refused by name, not misread as GPT-2.
            var llama = config.AsObject();
            llama["architecture"] = "llama";
            File.WriteAllText(Path.Combine(checkpoint, "config.json"), llama.ToJsonString());
            var list = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "checksums.json")))!.AsObject();
            list["config.json"] = FileHash.Sha256(Path.Combine(checkpoint, "config.json"));
            File.WriteAllText(Path.Combine(checkpoint, "checksums.json"), list.ToJsonString());
            Assert.Contains("architecture \"llama\" is not one this version", Assert.Throws<BadInputException>(() => Interop.ModelLoader.Load(checkpoint)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AWeightFrozenAfterTheOptimiserWasBuiltIsNeitherUpdatedNorDecayed()
    {
        manual_seed(2);
        using var model = new GptModel(Tiny with { DropRate = 0 });
        using var optimizer = AdamW.For(model, lr: 1e-2, weightDecay: 0.5);
        var frozen = model.trf_blocks[0].norm1.scale;
        frozen.requires_grad = false;
        var before = frozen.detach().clone();
        var step = new TrainingStep<TokenBatch>(model, optimizer, Pretraining.NextTokenLoss);
        var ids = Examples()[0].Ids;
        var batch = new TokenBatch(ids[..8], ids[1..9], 1, 8);
        step.Run([batch], 1e-2, dropoutSeed: 1);
        Assert.True(frozen.detach().allclose(before, rtol: 0, atol: 0));
        Assert.DoesNotContain(optimizer.StateTensors(), t => t.Name.EndsWith("trf_blocks.0.norm1.scale"));
    }

    /// <summary>A test-only adapter: the wrapped layer's output plus a small trainable correction (LoRA's shape).</summary>
    sealed class Adapter : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006 // the book's LinearWithLoRA names
        readonly nn.Module<Tensor, Tensor> linear;
        readonly TorchSharp.Modules.Linear down, up;
#pragma warning restore IDE1006

        public Adapter(nn.Module<Tensor, Tensor> wrapped, int features) : base(nameof(Adapter))
        {
            linear = wrapped;
            down = nn.Linear(features, 2, hasBias: false);
            up = nn.Linear(2, features, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => linear.forward(x) + up.forward(down.forward(x));
    }

    [Fact]
    public void AWrappedLinearLayerTrainsItsAdapterWhileTheWrappedWeightStaysFixed()
    {
        manual_seed(3);
        using var model = new GptModel(Tiny with { DropRate = 0 });
        Assert.Contains("trf_blocks.0.att.W_query", LinearWrapping.Paths(model));
        Assert.Contains("trf_blocks.1.ff.layers.2", LinearWrapping.Paths(model));
        Assert.Contains("out_head", LinearWrapping.Paths(model));
        var names = model.named_parameters().Select(p => p.name).ToList();

        foreach (var (_, p) in model.named_parameters()) p.requires_grad = false;
        int wrapped = LinearWrapping.Wrap(model, path => path.EndsWith("att.W_query") || path.EndsWith("att.W_value"),
            (_, linear) => new Adapter(linear, Tiny.EmbDim));
        Assert.Equal(4, wrapped);
        var wrappedNames = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("trf_blocks.0.att.W_query.linear.weight", wrappedNames);
        Assert.Contains("trf_blocks.0.att.W_query.up.weight", wrappedNames);
        Assert.Equal(names.Count + 4 * 2, wrappedNames.Count);
        // Everything not wrapped keeps the book's names.
        Assert.All(names.Where(n => !n.Contains("W_query") && !n.Contains("W_value")), n => Assert.Contains(n, wrappedNames));

        var query = model.named_parameters().First(p => p.name == "trf_blocks.0.att.W_query.linear.weight").parameter;
        var before = Snapshot(model);
        using var optimizer = AdamW.For(model, lr: 1e-2, weightDecay: 0);
        Assert.Equal(4 * 2 * 2 * Tiny.EmbDim, optimizer.TrainableCount);
        var step = new TrainingStep<TokenBatch>(model, optimizer, Pretraining.NextTokenLoss);
        var ids = Examples()[0].Ids;
        var batch = new TokenBatch(ids[..15], ids[1..16], 1, 15);
        double first = step.Run([batch], 1e-2, 1).Loss, last = first;
        for (int i = 2; i <= 10; i++) last = step.Run([batch], 1e-2, i).Loss;
        Assert.True(last < first, $"the loss went from {first} to {last}");
        Assert.True(query.detach().allclose(before["trf_blocks.0.att.W_query.linear.weight"], rtol: 0, atol: 0));
        foreach (var (name, p) in model.named_parameters())
            Assert.Equal(!name.Contains(".up.") && !name.Contains(".down."), p.detach().allclose(before[name], rtol: 0, atol: 0));
    }

    [Fact]
    public void TheSharedStepThatBenchTrainTimesReproducesPretrainingsReferenceTrajectory()
    {
        // bench train (TrainStepBenchmark) and the pretraining Trainer both run TrainingStep with
        // Pretraining.NextTokenLoss: here it is driven by hand over the fixture run's batches.
        using var loaded = Interop.ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig);
        var model = loaded.Model;
        model.train();
        int[] ids = Text.TokenizerLoader.Gpt2Default.Encode(File.ReadAllText(TestPaths.Verdict));
        var loader = new DataLoader(new GptDataset(ids, 32, 32), 2, shuffle: false, dropLast: true);
        using var optimizer = AdamW.For(model, lr: 4e-4, weightDecay: 0.1);
        var step = new TrainingStep<TokenBatch>(model, optimizer, Pretraining.NextTokenLoss);
        double[] expected = FixtureModel.Doubles("train_ctx32_b2_lr4e-4_wd0.1");
        var batches = loader.Batches(0).Take(expected.Length).ToList();
        for (int i = 0; i < expected.Length; i++)
        {
            double loss = step.Run([batches[i]], 4e-4, dropoutSeed: i).Loss;
            Assert.True(Math.Abs(loss - expected[i]) < 1e-4, $"step {i + 1}: expected {expected[i]}, got {loss}");
        }
    }
}
