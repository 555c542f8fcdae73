using LlmForge.Preference;

namespace LlmForge.Tests;

/// <summary><c>llmforge finetune dpo</c> as a user runs it, against the PyTorch reference.</summary>
[Collection(SerialCollection.Name)]
public sealed class DpoCliTests() : ScratchDirectory("llmforge-dpo-cli")
{
    static string Fixtures => TestPaths.Fixture("tiny-finetune");

    static string Preferences8 => Path.Combine(Fixtures, "preferences-8.json");

    string[] FixtureRun(string run, params string[] more) =>
    [
        "finetune", "dpo", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--train", Preferences8,
        "--no-shuffle", "--dropout", "0", "--batch-size", "4", "--lr", "5e-4", "--weight-decay", "0.01", "--beta", "0.1",
        "--epochs", "2", "--out", run, "--json", .. more,
    ];

    [Fact]
    public void TheFixtureRunReproducesTheReferenceLossesAndRewards()
    {
        string run = Path.Combine(_dir, "fixture");
        CliRunner.Json(CliRunner.Run(FixtureRun(run)));
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "expected.json"))).RootElement
            .GetProperty("dpo").GetProperty("steps_b4_lr5e-4_wd0.01_2epochs").EnumerateArray().ToArray();
        var steps = TrainingTests.Metrics(run).Where(m => m["train_loss"] != null).ToArray();
        Assert.Equal(4, steps.Length);
        Assert.Equal(Math.Log(2), steps[0]["train_loss"]!.GetValue<double>(), 6);
        for (int i = 0; i < 4; i++)
            foreach (var (ours, theirs) in new[] { ("train_loss", "loss"), ("chosen_reward", "chosen_reward"), ("rejected_reward", "rejected_reward") })
                Assert.InRange(Math.Abs(steps[i][ours]!.GetValue<double>() - expected[i].GetProperty(theirs).GetDouble()), 0, 1e-4);
        Assert.True(File.Exists(Path.Combine(run, "rewards.png")));
    }

    [Fact]
    public void AnInterruptedRunResumesToTheSameLossesAndRewards()
    {
        string data = Path.Combine(_dir, "pairs-20.json");
        var all = JsonNode.Parse(File.ReadAllText(TestPaths.SharedData("instruction-data-with-preference.json")))!.AsArray();
        File.WriteAllText(data, new JsonArray(all.Take(20).Select(e => e!.DeepClone()).ToArray()).ToJsonString());
        DpoOptions Options() => new()
        {
            Init = FixtureModel.BookPth, ConfigPath = FixtureModel.BookConfig, Data = data, Dropout = 0.1, BatchSize = 4,
            MaxSteps = 6, EvalEvery = 3, EvalBatches = 1, SaveEvery = 2, Lr = 5e-4,
        };
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        using (var trainer = DpoFineTuning.Start(Options(), whole, overwrite: false))
            Assert.Equal(TrainingOutcome.Completed, trainer.Run());
        using (var trainer = DpoFineTuning.Start(Options(), parts, overwrite: false))
        {
            using var stop = new CancellationTokenSource();
            trainer.Progress = p => { if (p.Step == 3) stop.Cancel(); };
            Assert.Equal(TrainingOutcome.Interrupted, trainer.Run(stop.Token));
        }
        using (var resumed = DpoFineTuning.Resume(parts))
            Assert.Equal(TrainingOutcome.Completed, resumed.Run());
        foreach (var key in new[] { "train_loss", "chosen_reward", "rejected_reward", "val_loss", "val_reward_margin", "pairs_seen" })
            Assert.Equal(TrainingTests.Metrics(whole).Select(m => m[key]?.ToJsonString()), TrainingTests.Metrics(parts).Select(m => m[key]?.ToJsonString()));
    }

    [Theory]
    [InlineData("nomodel", "give --model")]
    [InlineData("norejected", "\"rejected\" is missing")]
    [InlineData("beta", "--beta must be above 0, got 0")]
    public void BadInputIsOneLineAndWritesNothing(string kind, string expected)
    {
        string bad = Path.Combine(_dir, kind + ".json");
        var args = new List<string> { "finetune", "dpo", "--out", Path.Combine(_dir, "run-" + kind) };
        switch (kind)
        {
            case "nomodel": args.AddRange(["--train", Preferences8, "--config", FixtureModel.BookConfig]); break;
            case "norejected":
                File.WriteAllText(bad, "[{\"instruction\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}, {\"instruction\": \"a\", \"chosen\": \"b\"}]");
                args.AddRange(["--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--train", bad]);
                break;
            case "beta": args.AddRange(["--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--train", Preferences8, "--beta", "0"]); break;
        }
        BadInputAssert.OneLine(CliRunner.Run([.. args]), expected);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run-" + kind)));
    }

    [Fact]
    public void WithLoRATheReferenceIsTheSameModelWithoutItsAdapters()
    {
        string run = Path.Combine(_dir, "lora");
        CliRunner.Json(CliRunner.Run(FixtureRun(run, "--lora-rank", "4")));
        var steps = TrainingTests.Metrics(run).Where(m => m["train_loss"] != null).ToArray();
        // B starts at zero: the policy is the reference at first, and then moves away from it.
        Assert.Equal(Math.Log(2), steps[0]["train_loss"]!.GetValue<double>(), 6);
        Assert.Equal(0, steps[0]["chosen_reward"]!.GetValue<double>());
        Assert.NotEqual(0, steps[3]["chosen_reward"]!.GetValue<double>() - steps[3]["rejected_reward"]!.GetValue<double>());
        // Only the adapters trained: every base weight is the starting model's.
        using var before = PthStateDict.Open(FixtureModel.BookPth);
        using var after = SafeTensorsFile.Open(Path.Combine(Checkpoint.Latest(run)!, "model.safetensors"));
        int adapters = 0;
        foreach (var name in after.Names)
        {
            if (name.Contains(".lora.")) { adapters++; continue; }
            using var a = after.Read(name);
            using var b = before.Read(name.Replace(".linear.", "."));
            Assert.True(a.equal(b).all().item<bool>(), $"{name} changed although only adapters train");
        }
        Assert.Equal(2 * (2 * 6 + 1), adapters);
    }
}
