namespace LlmForge.Tests;

/// <summary>The trainer reproduces the reference trajectories, and its parts match PyTorch's definitions.</summary>
[Collection(SerialCollection.Name)]
public sealed class TrainingTests() : ScratchDirectory("llmforge-train")
{
    /// <summary>The fixtures README's run: the book model from model_book.pth, windows of 32, batches of 2 in order, no split.</summary>
    static PretrainingOptions FixtureRun(double lr, double? clip) => new()
    {
        Data = TestPaths.Verdict,
        Init = FixtureModel.BookPth,
        ConfigPath = FixtureModel.BookConfig,
        ContextLength = 32,
        BatchSize = 2,
        Shuffle = false,
        ValFraction = 0,
        Dropout = 0,
        Lr = lr,
        WeightDecay = 0.1,
        GradClip = clip,
        MaxSteps = 10,
        SampleTokens = 0,
    };

    /// <summary>A run's metrics.jsonl, one object per line.</summary>
    internal static List<JsonObject> Metrics(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    static double[] TrainLosses(string run) =>
        Metrics(run).Where(m => m["train_loss"] != null).Select(m => m["train_loss"]!.GetValue<double>()).ToArray();

    [Theory]
    [InlineData(4e-4, null, "train_ctx32_b2_lr4e-4_wd0.1")]
    [InlineData(1e-3, 1.0, "train_ctx32_b2_lr1e-3_wd0.1_clip1")]
    public void TrainingLossesMatchTheReferenceTrajectory(double lr, double? clip, string fixture)
    {
        string run = Path.Combine(_dir, fixture);
        using (var trainer = Pretraining.Start(FixtureRun(lr, clip), run, overwrite: false))
            Assert.Equal(TrainingOutcome.Completed, trainer.Run());
        double[] expected = FixtureModel.Doubles(fixture);
        double[] got = TrainLosses(run);
        Assert.Equal(10, got.Length);
        for (int i = 0; i < 10; i++)
            Assert.True(Math.Abs(expected[i] - got[i]) < 1e-4, $"step {i + 1}: expected {expected[i]}, got {got[i]}");
    }

    [Fact]
    public void ScheduleFollowsAppendixD()
    {
        var schedule = new LearningRateSchedule(Peak: 1e-3, WarmupSteps: 10, InitialLr: 1e-5, MinLr: 1e-4);
        Assert.Equal(1e-5, schedule.At(0, 110), 12);
        Assert.Equal(1e-5 + 5 * (1e-3 - 1e-5) / 10, schedule.At(5, 110), 12);
        Assert.Equal(1e-3, schedule.At(10, 110), 12);                      // cosine starts at the peak
        Assert.Equal(1e-4 + (1e-3 - 1e-4) * 0.5, schedule.At(60, 110), 12); // half way: the middle
        Assert.Equal(1e-4 + (1e-3 - 1e-4) * 0.5 * (1 + Math.Cos(Math.PI * 0.99)), schedule.At(109, 110), 12);
        Assert.Equal(4e-4, new LearningRateSchedule(4e-4).At(57, 90));     // constant without warmup and minimum
    }

    [Theory]
    [InlineData(4, 3, false)]      // the fused kernel's vector and scalar tails
    [InlineData(600, 1001, false)] // several parallel chunks
    [InlineData(5, 7, true)]       // fp64: the tensor-operation path
    public void AdamWMatchesTorchsOwn(int rows, int columns, bool fp64)
    {
        manual_seed(1);
        using var start = randn(rows, columns, dtype: fp64 ? ScalarType.Float64 : ScalarType.Float32);
        using var ours = start.clone().requires_grad_(true);
        using var theirs = new TorchSharp.Modules.Parameter(start.clone());
        using var optimizer = new AdamW([("w", ours)], lr: 0.01, weightDecay: 0.1);
        using var reference = optim.AdamW([theirs], lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);
        for (int step = 0; step < 5; step++)
        {
            using var target = randn(rows, columns, dtype: start.dtype);
            foreach (var (w, update) in new (Tensor, Action)[] { (ours, optimizer.Step), (theirs, () => reference.step()) })
            {
                w.grad?.zero_();
                using var loss = (w * target).pow(2).sum();
                loss.backward();
                update();
            }
            Assert.True(ours.allclose(theirs, rtol: 0, atol: 1e-6), $"step {step}: differs by up to {(ours - theirs).abs().max().ToDouble()}");
        }
        optimizer.ZeroGrad();
        Assert.Null(ours.grad); // dropped, as PyTorch's zero_grad() does
    }

    [Fact]
    public void ClippingMatchesTorchsOwn()
    {
        manual_seed(2);
        using var a = randn(5, 5).requires_grad_(true);
        using var b = randn(7).requires_grad_(true);
        using var c = new TorchSharp.Modules.Parameter(a.detach().clone());
        using var d = new TorchSharp.Modules.Parameter(b.detach().clone());
        foreach (var (x, y) in new (Tensor, Tensor)[] { (a, b), (c, d) })
        {
            using var loss = (x * 3).pow(2).sum() + (y * 2).pow(3).sum();
            loss.backward();
        }
        double norm = GradientClipping.ClipGradNorm([a, b], 1.0);
        double referenceNorm = nn.utils.clip_grad_norm_([c, d], 1.0);
        Assert.Equal(referenceNorm, norm, 3);
        Assert.True(a.grad!.allclose(c.grad!, rtol: 1e-5, atol: 1e-7));
        Assert.True(b.grad!.allclose(d.grad!, rtol: 1e-5, atol: 1e-7));
    }

    /// <summary>A run with everything that carries state: shuffling, dropout, accumulation, warmup, cosine, clipping.</summary>
    static PretrainingOptions StatefulRun() => new()
    {
        Data = TestPaths.Verdict,
        ConfigPath = TestPaths.TinyConfig,
        ContextLength = 16,
        BatchSize = 2,
        GradAccumulation = 2,
        Dropout = 0.1,
        Lr = 1e-3,
        WarmupSteps = 3,
        InitialLr = 1e-5,
        MinLr = 1e-4,
        GradClip = 1.0,
        MaxSteps = 12,
        EvalEvery = 4,
        EvalBatches = 2,
        SaveEvery = 4,
        SampleTokens = 5,
    };

    [Fact]
    public void AnInterruptedRunResumesToTheSameLosses()
    {
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        using (var trainer = Pretraining.Start(StatefulRun(), whole, overwrite: false))
            Assert.Equal(TrainingOutcome.Completed, trainer.Run());

        using (var trainer = Pretraining.Start(StatefulRun(), parts, overwrite: false))
        {
            using var stop = new CancellationTokenSource();
            trainer.Progress = p => { if (p.Step == 5) stop.Cancel(); };
            Assert.Equal(TrainingOutcome.Interrupted, trainer.Run(stop.Token));
            Assert.Equal(5, trainer.Step);
        }
        Assert.EndsWith("step-000005", Checkpoint.Latest(parts));
        using (var resumed = Pretraining.Resume(parts))
        {
            Assert.Equal(5, resumed.Step);
            Assert.Equal(TrainingOutcome.Completed, resumed.Run());
        }

        var expected = Metrics(whole);
        var got = Metrics(parts);
        Assert.Equal(expected.Select(m => m["step"]!.GetValue<long>()), got.Select(m => m["step"]!.GetValue<long>()));
        foreach (var key in new[] { "train_loss", "eval_train_loss", "val_loss", "lr", "tokens_seen" })
            Assert.Equal(expected.Select(m => m[key]?.ToJsonString()), got.Select(m => m[key]?.ToJsonString()));
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "samples.txt")), File.ReadAllText(Path.Combine(parts, "samples.txt")));
        // Dropout was on: losses differ from a dropout-free run, so the masks were really replayed.
        Assert.True(File.Exists(Path.Combine(parts, "loss.png")));
    }

    [Fact]
    public void MetricsHoldOneObjectPerStepWithEvaluationsInline()
    {
        string run = Path.Combine(_dir, "metrics");
        using (var trainer = Pretraining.Start(StatefulRun(), run, overwrite: false))
            trainer.Run();
        var metrics = Metrics(run);
        Assert.Equal(Enumerable.Range(0, 13).Select(i => (long)i), metrics.Select(m => m["step"]!.GetValue<long>()));
        Assert.Null(metrics[0]["train_loss"]); // the baseline evaluation before training
        Assert.NotNull(metrics[0]["val_loss"]);
        foreach (var m in metrics.Skip(1))
        {
            foreach (var key in new[] { "epoch", "tokens_seen", "train_loss", "lr", "elapsed_s" }) Assert.NotNull(m[key]);
            long step = m["step"]!.GetValue<long>();
            Assert.Equal(step % 4 == 0, m["val_loss"] != null);
            Assert.Equal(step * 2 * 2 * 16, m["tokens_seen"]!.GetValue<long>());
        }
        Assert.Equal(1e-5, metrics[1]["lr"]!.GetValue<double>(), 12);
        var png = File.ReadAllBytes(Path.Combine(run, "loss.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var headers = File.ReadAllLines(Path.Combine(run, "samples.txt")).Where(l => l.StartsWith("[step "));
        Assert.Equal(["[step 0]", "[step 4]", "[step 8]", "[step 12]"], headers); // one block per evaluation
    }

    [Fact]
    public void ADirectoryOfTextFilesIsJoinedWithEndOfText()
    {
        string data = Path.Combine(_dir, "texts");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "b.txt"), "second file");
        File.WriteAllText(Path.Combine(data, "a.txt"), "first file");
        File.WriteAllText(Path.Combine(data, "ignored.md"), "not text for training");
        var loaded = PretrainingData.Load(data, Text.TokenizerLoader.Gpt2Default, 0);
        Assert.Equal(Text.TokenizerLoader.Gpt2Default.Encode("first file<|endoftext|>second file"), loaded.TrainIds);
        Assert.Empty(loaded.ValIds);
    }
}
