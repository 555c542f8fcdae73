using LlmForge.Instruction;

namespace LlmForge.Tests;

/// <summary><c>llmforge finetune instruct</c> and <c>llmforge respond</c> as a user runs them, against the PyTorch reference.</summary>
[Collection(SerialCollection.Name)]
public sealed class InstructCliTests() : ScratchDirectory("llmforge-instruct-cli")
{
    static string Fixtures => TestPaths.Fixture("tiny-finetune");

    static JsonElement Expected => JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "expected.json"))).RootElement.GetProperty("instruction");

    /// <summary>The fidelity command on instructions-8.json.</summary>
    string[] FixtureRun(string run, params string[] more) =>
    [
        "finetune", "instruct", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig,
        "--train", Path.Combine(Fixtures, "instructions-8.json"), "--no-shuffle", "--dropout", "0", "--batch-size", "4",
        "--lr", "5e-4", "--weight-decay", "0.1", "--epochs", "2", "--out", run, "--json", .. more,
    ];

    static double[] TrainLosses(string run) => TrainingTests.Metrics(run).Where(m => m["train_loss"] != null).Select(m => m["train_loss"]!.GetValue<double>()).ToArray();

    [Theory]
    [InlineData(false, "losses_b4_lr5e-4_wd0.1_2epochs")]
    [InlineData(true, "losses_b4_lr5e-4_wd0.1_2epochs_mask_instruction")]
    public void TheFixtureRunReproducesTheReferenceLosses(bool mask, string key)
    {
        string run = Path.Combine(_dir, "fixture-" + mask);
        var json = CliRunner.Json(CliRunner.Run(mask ? FixtureRun(run, "--mask-instruction") : FixtureRun(run)));
        var expected = Expected.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var losses = TrainLosses(run);
        Assert.Equal(4, losses.Length);
        for (int i = 0; i < 4; i++) Assert.InRange(Math.Abs(losses[i] - expected[i]), 0, 1e-4);
        Assert.Equal(8, json.GetProperty("train_entries").GetInt32());
        using var loaded = ModelLoader.Load(run);
        Assert.Equal("alpaca", loaded.Model.PromptFormat);
    }

    /// <summary>The first 40 entries of the real instruction set: 34 train / 4 test / 2 validation after the book's split.</summary>
    string Small()
    {
        string path = Path.Combine(_dir, "instructions-40.json");
        if (!File.Exists(path))
        {
            var all = JsonNode.Parse(File.ReadAllText(TestPaths.SharedData("instruction-data.json")))!.AsArray();
            File.WriteAllText(path, new JsonArray(all.Take(40).Select(e => e!.DeepClone()).ToArray()).ToJsonString());
        }
        return path;
    }

    [Fact]
    public void ARunWritesTheTestResponsesAndRespondAnswersAsTheyDo()
    {
        string run = Path.Combine(_dir, "responses");
        var json = CliRunner.Json(CliRunner.Run("finetune", "instruct", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig,
            "--data", Small(), "--max-steps", "2", "--batch-size", "4", "--max-new-tokens", "6", "--out", run, "--json"));
        Assert.Equal(34, json.GetProperty("train_entries").GetInt32());
        Assert.Equal(4, json.GetProperty("test_entries").GetInt32());
        Assert.Equal(2, json.GetProperty("validation_entries").GetInt32());
        var responses = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "test-responses.json")))!.AsArray();
        var entries = JsonNode.Parse(File.ReadAllText(Small()))!.AsArray();
        Assert.Equal(4, responses.Count);
        for (int i = 0; i < 4; i++)
        {
            // The book's split: the test set follows the 34 training entries.
            Assert.Equal(entries[34 + i]!["instruction"]!.GetValue<string>(), responses[i]!["instruction"]!.GetValue<string>());
            Assert.Equal(entries[34 + i]!["output"]!.GetValue<string>(), responses[i]!["output"]!.GetValue<string>());
            Assert.NotNull(responses[i]!["model_response"]);
        }
        // respond applies the model's prompt format unasked and gives what the run wrote for the same entry.
        var first = responses[0]!;
        var args = new List<string> { "respond", "--model", run, "--instruction", first["instruction"]!.GetValue<string>(), "--max-new-tokens", "6", "--json" };
        if (first["input"]!.GetValue<string>() is { Length: > 0 } input) args.AddRange(["--input", input]);
        var answer = CliRunner.Json(CliRunner.Run([.. args]));
        Assert.Equal(first["model_response"]!.GetValue<string>(), answer.GetProperty("response").GetString());
        var streamed = CliRunner.Run([.. args.Where(a => a != "--json"), "--stream"]);
        Assert.True(streamed.ExitCode == 0, streamed.Stderr);
        Assert.Equal(first["model_response"]!.GetValue<string>(), streamed.Stdout.Trim());
        Assert.True(File.Exists(Path.Combine(run, "samples.txt")));
    }

    [Fact]
    public void AnInterruptedRunResumesToTheSameLosses()
    {
        InstructionOptions Options() => new()
        {
            Init = FixtureModel.BookPth, ConfigPath = FixtureModel.BookConfig, Data = Small(), Dropout = 0.1, BatchSize = 4,
            MaxSteps = 6, EvalEvery = 3, EvalBatches = 1, SaveEvery = 2, Lr = 5e-4, MaxNewTokens = 4,
        };
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        using (var run = InstructionFineTuning.Start(Options(), whole, overwrite: false))
            Assert.Equal(TrainingOutcome.Completed, run.Trainer.Run());
        using (var run = InstructionFineTuning.Start(Options(), parts, overwrite: false))
        {
            using var stop = new CancellationTokenSource();
            run.Trainer.Progress = p => { if (p.Step == 3) stop.Cancel(); };
            Assert.Equal(TrainingOutcome.Interrupted, run.Trainer.Run(stop.Token));
        }
        using (var resumed = InstructionFineTuning.Resume(parts))
        {
            Assert.Equal(3, resumed.Trainer.Step);
            Assert.Equal(TrainingOutcome.Completed, resumed.Trainer.Run());
        }
        foreach (var key in new[] { "train_loss", "val_loss", "eval_train_loss", "tokens_seen", "lr" })
            Assert.Equal(TrainingTests.Metrics(whole).Select(m => m[key]?.ToJsonString()), TrainingTests.Metrics(parts).Select(m => m[key]?.ToJsonString()));
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "samples.txt")), File.ReadAllText(Path.Combine(parts, "samples.txt")));
    }

    [Theory]
    [InlineData("notarray", "expected a JSON array of objects")]
    [InlineData("nooutput", "entry 1 (0-based): missing \"output\"")]
    [InlineData("tooshort", "leave the test set empty")]
    [InlineData("maxlength", "--max-length 65 exceeds the model's context length of 64")]
    [InlineData("both", "give --data or --train/--validation/--test, not both")]
    public void BadInputIsOneLineAndWritesNothing(string kind, string expected)
    {
        string bad = Path.Combine(_dir, kind + ".json");
        var args = new List<string> { "finetune", "instruct", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--out", Path.Combine(_dir, "run-" + kind) };
        switch (kind)
        {
            case "notarray": File.WriteAllText(bad, "{\"instruction\": \"x\"}"); args.AddRange(["--data", bad]); break;
            case "nooutput": File.WriteAllText(bad, "[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": \"c\"}]"); args.AddRange(["--data", bad]); break;
            case "tooshort": File.WriteAllText(bad, "[" + string.Join(",", Enumerable.Repeat("{\"instruction\": \"a\", \"output\": \"b\"}", 5)) + "]"); args.AddRange(["--data", bad]); break;
            case "maxlength": args.AddRange(["--data", Small(), "--max-length", "65"]); break;
            case "both": args.AddRange(["--data", Small(), "--train", Small()]); break;
        }
        BadInputAssert.OneLine(CliRunner.Run([.. args]), expected);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run-" + kind)));
    }
}
