using System.Diagnostics;

namespace LlmForge.Tests;

/// <summary><c>llmforge pretrain</c> as a user runs it: interrupted, killed, diverging, and given bad input.</summary>
public sealed class PretrainCliTests() : ScratchDirectory("llmforge-pretrain-cli")
{
    /// <summary>A small run with shuffling and dropout, saving at every step; <paramref name="overrides"/> replace or add options.</summary>
    string[] Run(string name, params string[] overrides)
    {
        var options = new List<(string Name, string? Value)>
        {
            ("--data", TestPaths.Verdict), ("--config", TestPaths.TinyConfig), ("--context-length", "16"), ("--batch-size", "4"),
            ("--max-steps", "40"), ("--eval-every", "10"), ("--eval-batches", "2"), ("--sample-tokens", "3"),
            ("--save-every", "1"), ("--out", Path.Combine(_dir, name)),
        };
        for (int i = 0; i < overrides.Length; i++)
        {
            string option = overrides[i];
            string? value = i + 1 < overrides.Length && !overrides[i + 1].StartsWith("--") ? overrides[++i] : null;
            options.RemoveAll(o => o.Name == option);
            options.Add((option, value));
        }
        return ["pretrain", .. options.SelectMany(o => o.Value == null ? new[] { o.Name } : [o.Name, o.Value])];
    }

    static double[] TrainLosses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!.AsObject()).Where(m => m["train_loss"] != null)
        .Select(m => m["train_loss"]!.GetValue<double>()).ToArray();

    static void WaitForStep(string run, int step, Process process)
    {
        var clock = Stopwatch.StartNew();
        string metrics = Path.Combine(run, "metrics.jsonl");
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !process.HasExited)
        {
            if (File.Exists(metrics) && File.ReadAllLines(metrics).Length > step) return;
            Thread.Sleep(20);
        }
        Assert.Fail($"the run did not reach step {step}: {process.StandardError.ReadToEnd()}");
    }

    [Fact]
    public void KilledAtAnyInstantTheRunResumesToTheSameLosses()
    {
        var reference = CliRunner.Run(Run("reference"));
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        double[] expected = TrainLosses(Path.Combine(_dir, "reference"));
        Assert.Equal(40, expected.Length);

        string run = Path.Combine(_dir, "killed");
        // Kill twice, at moments that fall wherever they fall (often inside a checkpoint write).
        using (var first = CliRunner.Start(Run("killed")))
        {
            WaitForStep(run, 7, first);
            Thread.Sleep(Random.Shared.Next(0, 60));
            first.Kill();
            first.WaitForExit();
        }
        using (var second = CliRunner.Start("pretrain", "--resume", run))
        {
            WaitForStep(run, 21, second);
            Thread.Sleep(Random.Shared.Next(0, 60));
            second.Kill();
            second.WaitForExit();
        }
        var last = CliRunner.Run("pretrain", "--resume", run);
        Assert.True(last.ExitCode == 0, last.Stderr);
        Assert.Equal(expected, TrainLosses(run));
        Assert.Empty(Directory.EnumerateDirectories(Checkpoint.CheckpointsDir(run), ".tmp-*"));
    }

    /// <summary>
    /// Ctrl-C finishes the step, saves and exits 130. The run is far longer than the test (100,000
    /// steps), so the signal always lands mid-run however busy the machine is: the test waits for the
    /// process to report steps, never for a time. (With 40 steps, a slow `kill` sometimes arrived after
    /// the run had finished, and the process exited 0.)
    /// </summary>
    [Fact]
    public void InterruptSavesAfterTheCurrentStepAndResumes()
    {
        string run = Path.Combine(_dir, "interrupted");
        string[] args = Run("interrupted", "--max-steps", "100000", "--save-every", "100000", "--eval-every", "100000", "--sample-tokens", "0");
        long first = Interrupt(CliRunner.Start(args), run, atStep: 5);
        double[] losses = TrainLosses(run);
        Assert.Equal(first, losses.Length);

        // Resumed, it continues from the saved step with the same losses before it, and stops again on request.
        long second = Interrupt(CliRunner.Start("pretrain", "--resume", run), run, atStep: (int)first + 3);
        Assert.True(second > first, $"saved {second} after {first}");
        double[] resumed = TrainLosses(run);
        Assert.Equal(second, resumed.Length);
        Assert.Equal(losses, resumed.Take(losses.Length));
    }

    /// <summary>Sends SIGINT once the run has logged <paramref name="atStep"/>; returns the step of the checkpoint it saved.</summary>
    static long Interrupt(Process process, string run, int atStep)
    {
        using (process)
        {
            WaitForStep(run, atStep, process);
            Process.Start("kill", ["-INT", process.Id.ToString()])!.WaitForExit();
            Assert.True(process.WaitForExit(60_000));
            string stderr = process.StandardError.ReadToEnd();
            Assert.True(process.ExitCode == PretrainCommandExitInterrupted, $"exit {process.ExitCode}: {stderr}");
            Assert.Contains("--resume", stderr);
            long saved = Checkpoint.StepOf(Checkpoint.Latest(run)!);
            Assert.InRange(saved, atStep, atStep + 1000);
            return saved;
        }
    }

    const int PretrainCommandExitInterrupted = 130;

    [Fact]
    public void ALossThatBecomesNaNStopsAndKeepsTheLastGoodCheckpoint()
    {
        string run = Path.Combine(_dir, "diverging");
        var result = CliRunner.Run(Run("diverging", "--lr", "10000", "--save-every", "2"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("became NaN", result.Stderr);
        Assert.Contains("Last good checkpoint: step-", result.Stderr);
        string latest = Checkpoint.Latest(run)!;
        Checkpoint.Verify(latest);
        using var loaded = Interop.ModelLoader.Load(latest);
        Assert.All(loaded.Model.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.Equal(0, CliRunner.Run("model", "info", "--model", run).ExitCode);
    }

    [Fact]
    public void EvalAndGenerateTakeACheckpoint()
    {
        var trained = CliRunner.Run(Run("short", "--max-steps", "3"));
        Assert.True(trained.ExitCode == 0, trained.Stderr);
        string run = Path.Combine(_dir, "short");
        foreach (var model in new[] { run, Checkpoint.Latest(run)! })
        {
            var eval = CliRunner.Json(CliRunner.Run("eval", "--model", model, "--file", TestPaths.Verdict, "--context-length", "16", "--json"));
            Assert.InRange(eval.GetProperty("loss").GetDouble(), 5, 12);
            var generated = CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", "Every effort", "--max-new-tokens", "3", "--json"));
            Assert.Equal(2 + 3, generated.GetProperty("ids").GetArrayLength());
        }
    }

    [Fact]
    public void ADamagedCheckpointIsRefusedOnResume()
    {
        var trained = CliRunner.Run(Run("damaged", "--max-steps", "2"));
        Assert.True(trained.ExitCode == 0, trained.Stderr);
        string run = Path.Combine(_dir, "damaged");
        string weights = Path.Combine(Checkpoint.Latest(run)!, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        var resumed = CliRunner.Run("pretrain", "--resume", run);
        Assert.Equal(2, resumed.ExitCode);
        Assert.Contains("model.safetensors: damaged", resumed.Stderr);
    }

    /// <summary>Makes checksums.json agree with an edited file, so that only the content itself can give it away.</summary>
    static void AgreeChecksum(string checkpoint, string file)
    {
        string checksums = Path.Combine(checkpoint, Checkpoint.ChecksumsFile);
        var list = JsonNode.Parse(File.ReadAllText(checksums))!.AsObject();
        list[file] = FileHash.Sha256(Path.Combine(checkpoint, file));
        File.WriteAllText(checksums, list.ToJsonString());
    }

    /// <summary>A two-step run named <paramref name="name"/>; returns its checkpoint.</summary>
    string TrainTwoSteps(string name)
    {
        var trained = CliRunner.Run(Run(name, "--max-steps", "2"));
        Assert.True(trained.ExitCode == 0, trained.Stderr);
        return Checkpoint.Latest(Path.Combine(_dir, name))!;
    }

    [Fact]
    public void ACheckpointHoldingAnotherModelIsRefusedOnResume()
    {
        string checkpoint = TrainTwoSteps("swapped");
        // Another model's weights, with checksums that agree with them: only the shapes can tell.
        string weights = Path.Combine(checkpoint, "model.safetensors");
        File.Copy(FixtureModel.HfSafetensors, weights, overwrite: true);
        AgreeChecksum(checkpoint, "model.safetensors");
        var resumed = CliRunner.Run("pretrain", "--resume", Path.Combine(_dir, "swapped"));
        Assert.Equal(2, resumed.ExitCode);
        Assert.Contains("'wpe.weight' has shape [64, 32], expected [16, 32]", resumed.Stderr);
    }

    [Fact]
    public void AnEditedTrainerStateMissingAFieldIsBadInput()
    {
        string checkpoint = TrainTwoSteps("edited");
        string statePath = Path.Combine(checkpoint, "trainer_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        state.Remove("step");
        File.WriteAllText(statePath, state.ToJsonString());
        AgreeChecksum(checkpoint, "trainer_state.json");
        var resumed = CliRunner.Run("pretrain", "--resume", Path.Combine(_dir, "edited"));
        Assert.Equal(2, resumed.ExitCode);
        Assert.Contains("trainer_state.json: no integer 'step'", resumed.Stderr);
    }

    public static TheoryData<string[], string> BadInputs()
    {
        string emptyDir = Directory.CreateTempSubdirectory("llmforge-no-texts").FullName;
        string small = Path.Combine(Path.GetTempPath(), "llmforge-small.txt");
        File.WriteAllText(small, "Just a few words.");
        string[] baseArgs = ["pretrain", "--config", TestPaths.TinyConfig, "--out", Path.Combine(Path.GetTempPath(), "llmforge-never-" + Guid.NewGuid().ToString("N"))];
        return new()
        {
            { [.. baseArgs, "--data", small, "--context-length", "16"], "fewer than one window of 16 plus one" },
            { [.. baseArgs, "--data", emptyDir], "has no .txt files" },
            { [.. baseArgs, "--data", TestPaths.Verdict, "--epochs", "2", "--max-steps", "5"], "not both" },
            { [.. baseArgs, "--data", TestPaths.Verdict, "--lr", "1e-4", "--min-lr", "1e-3"], "--min-lr 0.001 is above --lr 0.0001" },
            { [.. baseArgs, "--data", TestPaths.Verdict, "--context-length", "64"], "longer than the model's context of 16" },
            { [.. baseArgs, "--data", TestPaths.Verdict, "--bogus-option"], "--bogus-option" },
            { ["pretrain", "--resume", "/no/such/run"], "no such run directory" },
            { ["pretrain", "--resume", emptyDir, "--lr", "1"], "remove --lr" },
        };
    }

    [Theory, MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndOneLine(string[] args, string expected) => CliRunner.AssertBadInput(CliRunner.Run(args), expected);

    [Fact]
    public void AnExistingRunIsNotOverwrittenWithoutBeingAsked()
    {
        var first = CliRunner.Run(Run("kept", "--max-steps", "2"));
        Assert.True(first.ExitCode == 0, first.Stderr);
        string run = Path.Combine(_dir, "kept");
        string metrics = File.ReadAllText(Path.Combine(run, "metrics.jsonl"));
        var again = CliRunner.Run(Run("kept", "--max-steps", "3"));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--overwrite", again.Stderr);
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(run, "metrics.jsonl")));
        var replaced = CliRunner.Run(Run("kept", "--max-steps", "3", "--overwrite"));
        Assert.Equal(0, replaced.ExitCode);
        Assert.Equal(3, TrainLosses(run).Length);
    }
}
