namespace LlmForge.Tests;

/// <summary><c>llmforge finetune classify</c> and <c>llmforge classify</c> as a user runs them, against the PyTorch reference.</summary>
[Collection(SerialCollection.Name)]
public sealed class ClassifierCliTests() : ScratchDirectory("llmforge-classify-cli")
{
    /// <summary>The fidelity command: the reference's classifier trained on spam-24.tsv for 2 epochs.</summary>
    string[] FixtureRun(string run, params string[] more) =>
    [
        "finetune", "classify", "--model", ClassificationFixture.InitPth, "--config", FixtureModel.BookConfig,
        "--train", ClassificationFixture.Spam24, "--validation", ClassificationFixture.Spam24, "--test", ClassificationFixture.Spam24,
        "--no-shuffle", "--dropout", "0", "--train-last-blocks", "1", "--batch-size", "8", "--lr", "5e-4", "--weight-decay", "0.1",
        "--epochs", "2", "--out", run, "--json", .. more,
    ];

    static List<JsonObject> Metrics(string run) => TrainingTests.Metrics(run);

    [Fact]
    public void TheFixtureRunReproducesTheReferenceLossesCountsAndLogits()
    {
        string run = Path.Combine(_dir, "fixture");
        var json = CliRunner.Json(CliRunner.Run(FixtureRun(run)));

        var expected = ClassificationFixture.Doubles("losses_b8_lr5e-4_wd0.1_2epochs");
        var losses = Metrics(run).Where(m => m["train_loss"] != null).Select(m => m["train_loss"]!.GetValue<double>()).ToArray();
        Assert.Equal(expected.Length, losses.Length);
        for (int i = 0; i < expected.Length; i++) Assert.InRange(Math.Abs(losses[i] - expected[i]), 0, 1e-4);
        Assert.Equal(ClassificationFixture.Expected.GetProperty("trainable_parameters").GetInt64(), json.GetProperty("trainable_parameters").GetInt64());
        Assert.Equal(ClassificationFixture.Expected.GetProperty("train_accuracy_after").GetDouble(), json.GetProperty("train_accuracy").GetDouble(), 5);
        Assert.Equal(59, json.GetProperty("padded_length").GetInt32());
        Assert.Equal(24, json.GetProperty("train_examples").GetInt32());
        Assert.True(File.Exists(Path.Combine(run, "accuracy.png")) && File.Exists(Path.Combine(run, "loss.png")));

        // The saved classifier: its labels, and the first example's logits after training.
        using var loaded = ModelLoader.Load(run);
        Assert.Equal(["ham", "spam"], loaded.Labels!);
        var ids = ClassificationFixture.Expected.GetProperty("first_example_ids").EnumerateArray().Select(e => (long)e.GetInt32()).ToList();
        while (ids.Count < 59) ids.Add(50256);
        using (no_grad())
        {
            var logits = ClassificationLoss.Logits(loaded.Model, new ClassificationBatch([.. ids], [0], [50], 1, 59)).data<float>().ToArray();
            var after = ClassificationFixture.Doubles("first_example_last_logits_after");
            for (int c = 0; c < 2; c++) Assert.InRange(Math.Abs(logits[c] - after[c]), 0, 1e-4);
        }
    }

    [Fact]
    public void FrozenWeightsStayBitIdenticalAndHoldNoOptimiserState()
    {
        string run = Path.Combine(_dir, "frozen");
        CliRunner.Json(CliRunner.Run(FixtureRun(run)));
        string checkpoint = Checkpoint.Latest(run)!;
        using var before = PthStateDict.Open(ClassificationFixture.InitPth);
        using var after = SafeTensorsFile.Open(Path.Combine(checkpoint, "model.safetensors"));
        using var optimizer = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors"));
        bool Trains(string name) => name.StartsWith("trf_blocks.1.") || name.StartsWith("final_norm.") || name.StartsWith("out_head.");
        int frozen = 0, trained = 0;
        foreach (var name in after.Names)
        {
            using var a = after.Read(name);
            using var b = before.Read(name);
            if (Trains(name))
            {
                trained++;
                Assert.Contains("exp_avg." + name, optimizer.Names);
            }
            else
            {
                frozen++;
                Assert.True(a.equal(b).all().item<bool>(), $"{name} changed although frozen");
                Assert.DoesNotContain("exp_avg." + name, optimizer.Names);
            }
        }
        Assert.True(frozen > 10 && trained > 5, $"{frozen} frozen, {trained} trained");
        // Two moments per trained tensor and nothing else: a frozen run's checkpoint stays small.
        Assert.Equal(2 * trained, optimizer.Names.Count);
    }

    [Fact]
    public void AnInterruptedRunWithShufflingAndDropoutResumesToTheSameMetrics()
    {
        ClassificationOptions Options() => new()
        {
            Init = ClassificationFixture.InitPth, ConfigPath = FixtureModel.BookConfig, Data = ClassificationFixture.SmsSpam, Balance = false,
            Dropout = 0.1, BatchSize = 4, MaxSteps = 8, EvalEvery = 3, EvalBatches = 2, SaveEvery = 2, Lr = 5e-4, MaxLength = 24, KeepBest = true,
        };
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        using (var run = ClassifierFineTuning.Start(Options() with { Data = Small() }, whole, overwrite: false))
            Assert.Equal(TrainingOutcome.Completed, run.Trainer.Run());
        using (var run = ClassifierFineTuning.Start(Options() with { Data = Small() }, parts, overwrite: false))
        {
            using var stop = new CancellationTokenSource();
            run.Trainer.Progress = p => { if (p.Step == 5) stop.Cancel(); };
            Assert.Equal(TrainingOutcome.Interrupted, run.Trainer.Run(stop.Token));
        }
        using (var resumed = ClassifierFineTuning.Resume(parts))
        {
            Assert.Equal(5, resumed.Trainer.Step);
            Assert.Equal(TrainingOutcome.Completed, resumed.Trainer.Run());
            using var first = ClassifierFineTuning.Resume(whole);
            Assert.Equal(first.Accuracies(), resumed.Accuracies() with { FromCheckpoint = first.Accuracies().FromCheckpoint });
        }
        foreach (var key in new[] { "train_loss", "val_loss", "val_accuracy", "train_accuracy", "examples_seen", "lr" })
            Assert.Equal(Metrics(whole).Select(m => m[key]?.ToJsonString()), Metrics(parts).Select(m => m[key]?.ToJsonString()));
        Assert.True(Directory.Exists(Path.Combine(parts, "best")));
    }

    /// <summary>The first 60 lines of the SMS collection (both classes), for runs that must be quick.</summary>
    string Small()
    {
        string path = Path.Combine(_dir, "sms-60.tsv");
        if (!File.Exists(path)) File.WriteAllLines(path, File.ReadLines(ClassificationFixture.SmsSpam).Take(60));
        return path;
    }

    [Fact]
    public void ClassifyGivesTheLabelAndProbabilitiesOfEachText()
    {
        string run = Path.Combine(_dir, "for-classify");
        CliRunner.Json(CliRunner.Run(FixtureRun(run)));
        var one = CliRunner.Json(CliRunner.Run("classify", "--model", run, "--text", "WINNER!! Claim your free prize now", "--json"));
        string label = one.GetProperty("label").GetString()!;
        var probabilities = one.GetProperty("probabilities");
        Assert.Contains(label, new[] { "ham", "spam" });
        double ham = probabilities.GetProperty("ham").GetDouble(), spam = probabilities.GetProperty("spam").GetDouble();
        Assert.Equal(1.0, ham + spam, 5);
        Assert.Equal(label, ham > spam ? "ham" : "spam");

        // One JSON line per text, in order; the first line of spam-24 is classified as the model's own evaluation does.
        string texts = Path.Combine(_dir, "texts.txt");
        var lines = File.ReadLines(ClassificationFixture.Spam24).Take(5).Select(l => l[(l.IndexOf('\t') + 1)..]).ToArray();
        File.WriteAllLines(texts, [lines[0], "", .. lines[1..]]);
        var result = CliRunner.Run("classify", "--model", run, "--file", texts, "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var rows = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(5, rows.Count);
        using var loaded = ModelLoader.Load(run);
        var direct = TextClassifier.Classify(loaded.Model, loaded.Tokenizer, lines);
        Assert.Equal(direct.Select(d => d.Label), rows.Select(r => r["label"]!.GetValue<string>()));
    }

    [Fact]
    public void DryRunPrintsTheSizesAndWritesNothing()
    {
        string run = Path.Combine(_dir, "dry");
        var json = CliRunner.Json(CliRunner.Run("finetune", "classify", "--config", TestPaths.TinyConfig, "--data", ClassificationFixture.SmsSpam,
            "--balance", "--train-all", "--out", run, "--dry-run", "--json"));
        Assert.Equal(1045, json.GetProperty("train_examples").GetInt32());
        Assert.Equal(149, json.GetProperty("validation_examples").GetInt32());
        Assert.Equal(300, json.GetProperty("test_examples").GetInt32());
        Assert.False(json.TryGetProperty("test_accuracy", out _));
        Assert.Equal(16, json.GetProperty("padded_length").GetInt32()); // the tiny model's context
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void LoRATrainsOnlyTheAdaptersAndTheBaseStaysPut()
    {
        string run = Path.Combine(_dir, "lora");
        var json = CliRunner.Json(CliRunner.Run(FixtureRun(run, "--lora-rank", "4", "--lora-alpha", "8").Where(a => a != "--train-last-blocks" && a != "1").ToArray()));
        // Rank 4 on every linear of 2 blocks (4 attention 32→32, 32→128, 128→32) and the 32→2 head.
        long perBlock = 4 * 4 * (32 + 32) + 4 * (32 + 128) + 4 * (128 + 32);
        Assert.Equal(2 * perBlock + 4 * (32 + 2), json.GetProperty("trainable_parameters").GetInt64());
        using var before = PthStateDict.Open(ClassificationFixture.InitPth);
        using var after = SafeTensorsFile.Open(Path.Combine(Checkpoint.Latest(run)!, "model.safetensors"));
        int adapters = 0;
        foreach (var name in after.Names)
        {
            if (name.EndsWith(".lora.B")) { using var b = after.Read(name); Assert.True(b.abs().sum().item<float>() > 0, $"{name} did not train"); adapters++; continue; }
            if (name.EndsWith(".lora.A")) continue;
            using var a = after.Read(name);
            using var original = before.Read(name.Replace(".linear.", "."));
            Assert.True(a.equal(original).all().item<bool>(), $"{name} changed although only adapters train");
        }
        Assert.Equal(2 * 6 + 1, adapters);
        // The merged export is refused for a classifier, but classify reads the adapters as saved.
        Assert.Equal(0, CliRunner.Run("classify", "--model", run, "--text", "hello").ExitCode);
        // Adapters are not wrapped twice: a clear refusal, nothing written.
        string again = Path.Combine(_dir, "lora-again");
        BadInputAssert.OneLine(CliRunner.Run("finetune", "classify", "--model", run, "--train", ClassificationFixture.Spam24, "--validation", ClassificationFixture.Spam24,
            "--test", ClassificationFixture.Spam24, "--lora-rank", "2", "--out", again), "the model already carries LoRA adapters (rank 4, alpha 8)");
        Assert.False(Directory.Exists(again));
    }

    [Theory]
    [InlineData("notab", "line 1: no tab")]
    [InlineData("oneclass", "only one label, 'ham'")]
    [InlineData("emptytext", "empty text")]
    [InlineData("lora0", "--lora-rank must be at least 1, got 0")]
    [InlineData("column", "no column 'category'")]
    [InlineData("tooshort", "leave the validation set empty")]
    [InlineData("maxlength", "--max-length 65 exceeds the model's context length of 64")]
    public void BadInputIsOneLineAndWritesNothing(string kind, string expected)
    {
        string bad = Path.Combine(_dir, kind + ".tsv");
        var args = new List<string> { "finetune", "classify", "--model", ClassificationFixture.InitPth, "--config", FixtureModel.BookConfig, "--out", Path.Combine(_dir, "run-" + kind) };
        switch (kind)
        {
            case "notab": File.WriteAllText(bad, "ham hello\nspam win\n"); args.AddRange(["--data", bad]); break;
            case "oneclass": File.WriteAllText(bad, string.Concat(Enumerable.Repeat("ham\thello there\n", 20))); args.AddRange(["--data", bad]); break;
            case "emptytext": File.WriteAllText(bad, "ham\thello\nspam\t\n"); args.AddRange(["--data", bad]); break;
            case "lora0": args.AddRange(["--data", ClassificationFixture.Spam24, "--lora-rank", "0"]); break;
            case "column":
                bad = Path.ChangeExtension(bad, ".csv");
                File.WriteAllText(bad, "label,text\nham,hi\n");
                args.AddRange(["--data", bad, "--label-column", "category"]);
                break;
            case "tooshort": File.WriteAllText(bad, "ham\ta\nspam\tb\nham\tc\nspam\td\n"); args.AddRange(["--data", bad]); break;
            case "maxlength": args.AddRange(["--data", ClassificationFixture.Spam24, "--max-length", "65"]); break;
        }
        BadInputAssert.OneLine(CliRunner.Run([.. args]), expected);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run-" + kind)));
    }

    [Fact]
    public void AClassifierIsRefusedByPretrainAndALanguageModelByClassify()
    {
        string run = Path.Combine(_dir, "trained");
        CliRunner.Json(CliRunner.Run(FixtureRun(run)));
        BadInputAssert.OneLine(CliRunner.Run("pretrain", "--init", run, "--data", TestPaths.Verdict, "--out", Path.Combine(_dir, "pre")),
            "is a classifier (2 outputs: ham, spam); pretraining needs a language model's vocabulary head");
        Assert.False(Directory.Exists(Path.Combine(_dir, "pre")));
        BadInputAssert.OneLine(CliRunner.Run("classify", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--text", "hi"), "not a classifier");
    }

    [Fact]
    public void GenerateAndEvalRefuseAClassifierAndModelInfoCountsIt()
    {
        string run = Path.Combine(_dir, "info");
        CliRunner.Json(CliRunner.Run(FixtureRun(run)));
        BadInputAssert.OneLine(CliRunner.Run("generate", "--model", run, "--prompt", "hi"), "is a classifier (2 outputs: ham, spam), not a language model; use llmforge classify");
        BadInputAssert.OneLine(CliRunner.Run("eval", "--model", run, "--file", TestPaths.Verdict, "--context-length", "16"), "use llmforge classify");
        var info = CliRunner.Json(CliRunner.Run("model", "info", "--model", run, "--json"));
        using var loaded = ModelLoader.Load(run);
        Assert.Equal(loaded.Model.parameters().Sum(p => p.numel()), info.GetProperty("total_parameters").GetInt64());
        Assert.Contains("a classifier of 2 classes (ham, spam)", info.GetProperty("kind").GetString());
    }
}
