namespace LlmForge.Tests;

/// <summary>bf16 mixed precision: it trains as fp32 does, keeps fp32 master weights, and resumes exactly.</summary>
[Collection(SerialCollection.Name)]
public sealed class MixedPrecisionTests() : ScratchDirectory("llmforge-bf16")
{
    /// <summary>
    /// A small model (2 layers, 64 wide) with a 1,024-token BPE trained on tinyshakespeare: with GPT-2's
    /// 50,257-token head, bf16's slow products on this CPU would make 200 steps take minutes.
    /// </summary>
    PretrainingOptions Run(string precision, long steps = 200)
    {
        string tokenizer = Path.Combine(_dir, "tokenizer"), config = Path.Combine(_dir, "config.json");
        if (!Directory.Exists(tokenizer))
            new BpeTrainer().Train(File.ReadAllText(Shakespeare), 1024).Save(tokenizer);
        File.WriteAllText(config, """
            {"vocab_size": 1024, "context_length": 32, "emb_dim": 64, "n_heads": 4, "n_layers": 2, "drop_rate": 0.0, "qkv_bias": false}
            """);
        return new PretrainingOptions
        {
            Data = Shakespeare,
            Tokenizer = tokenizer,
            ConfigPath = config,
            BatchSize = 8,
            Lr = 1e-3,
            MaxSteps = steps,
            EvalEvery = 100,
            EvalBatches = 20,
            SaveEvery = 50,
            SampleTokens = 0,
            Precision = precision,
        };
    }

    static string Shakespeare => TestPaths.SharedData("tinyshakespeare.txt");

    static List<JsonObject> Metrics(string run) => TrainingTests.Metrics(run);

    static double ValLossAt(string run, long step) =>
        Metrics(run).Single(m => m["step"]!.GetValue<long>() == step)["val_loss"]!.GetValue<double>();

    [Fact]
    public void Bf16LossAfter200StepsIsWithinTwoPercentOfFp32()
    {
        string fp32 = Path.Combine(_dir, "fp32"), bf16 = Path.Combine(_dir, "bf16");
        foreach (var (precision, run) in new[] { ("fp32", fp32), ("bf16", bf16) })
            using (var trainer = Pretraining.Start(Run(precision), run, overwrite: false))
                Assert.Equal(TrainingOutcome.Completed, trainer.Run());

        double start = ValLossAt(fp32, 0), a = ValLossAt(fp32, 200), b = ValLossAt(bf16, 200);
        Assert.Equal(start, ValLossAt(bf16, 0));     // the same initial weights, evaluated in fp32
        Assert.True(a < start - 1.5, $"fp32 trained: {start} -> {a}");
        Assert.InRange(Math.Abs(b - a) / a, 0, 0.02);
        Assert.NotEqual(a, b);                        // bf16 really computed in bf16
    }

    [Fact]
    public void CheckpointsHoldFp32MasterWeightsAndResumeExactly()
    {
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        using (var trainer = Pretraining.Start(Run("bf16", steps: 100), whole, overwrite: false))
            trainer.Run();
        using (var trainer = Pretraining.Start(Run("bf16", steps: 100), parts, overwrite: false))
        {
            using var stop = new CancellationTokenSource();
            trainer.Progress = p => { if (p.Step == 50) stop.Cancel(); };
            Assert.Equal(TrainingOutcome.Interrupted, trainer.Run(stop.Token));
            Assert.All(trainer.Model.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        }
        using (var resumed = Pretraining.Resume(parts))
            Assert.Equal(TrainingOutcome.Completed, resumed.Run());

        foreach (var key in new[] { "train_loss", "val_loss" })
            Assert.Equal(Metrics(whole).Select(m => m[key]?.ToJsonString()), Metrics(parts).Select(m => m[key]?.ToJsonString()));
    }

    [Fact]
    public void GradientsOfSeveralBatchesAddUpOnTheMasterWeightsInFp32()
    {
        manual_seed(3);
        using var master = new GptModel(GptConfig.Load(TestPaths.TinyConfig) with { DropRate = 0 });
        using var mixed = new MixedPrecision(master);
        mixed.CopyWeights();
        var pairs = master.named_parameters().Zip(mixed.Compute.Module.named_parameters()).ToArray();
        foreach (var (m, c) in pairs)
        {
            Assert.Equal(ScalarType.BFloat16, c.parameter.dtype);
            Assert.True(c.parameter.to(ScalarType.Float32).allclose(m.parameter.to(ScalarType.BFloat16).to(ScalarType.Float32), rtol: 0, atol: 0), m.name);
        }

        var expected = pairs.ToDictionary(p => p.First.name, p => zeros_like(p.First.parameter));
        for (int batch = 0; batch < 2; batch++)
        {
            using var inputs = randint(0, 50257, [2, 8]);
            using var targets = randint(0, 50257, [2, 8]);
            Loss.CalcLossBatch(mixed.Compute, inputs, targets).backward();
            foreach (var (m, c) in pairs) expected[m.name].add_(c.parameter.grad!.to(ScalarType.Float32));
            mixed.AccumulateGradients();
            Assert.All(pairs, p => Assert.Null(p.Second.parameter.grad));
        }
        foreach (var (m, _) in pairs)
        {
            Assert.Equal(ScalarType.Float32, m.parameter.grad!.dtype);
            Assert.True(m.parameter.grad.allclose(expected[m.name], rtol: 1e-6, atol: 0), m.name);
        }
    }
}
