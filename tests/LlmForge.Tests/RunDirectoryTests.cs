using System.Diagnostics;

namespace LlmForge.Tests;

/// <summary>
/// The run directory as a careless or hostile user meets it through <c>llmforge pretrain</c>:
/// <c>--overwrite</c> next to their own files, two processes on one run, edited checkpoints, runs
/// killed before their first save, relative paths, and leftovers of interrupted writes.
/// </summary>
public sealed class RunDirectoryTests() : ScratchDirectory("llmforge-rundir")
{
    /// <summary>A short run of the tiny model; <paramref name="extra"/> adds or replaces options.</summary>
    static string[] Pretrain(string data, string output, params string[] extra)
    {
        var options = new List<string> { "pretrain", "--data", data, "--out", output, "--config", TestPaths.TinyConfig, "--context-length", "16",
            "--batch-size", "4", "--max-steps", "6", "--eval-every", "3", "--eval-batches", "1", "--sample-tokens", "3" };
        for (int i = 0; i < extra.Length; i++)
        {
            int at = options.IndexOf(extra[i]);
            bool hasValue = i + 1 < extra.Length && !extra[i + 1].StartsWith("--");
            if (at >= 0) options.RemoveRange(at, extra[i] is "--overwrite" ? 1 : 2);
            options.Add(extra[i]);
            if (hasValue) options.Add(extra[++i]);
        }
        return [.. options];
    }

    string UserDir(string name)
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        File.Copy(TestPaths.Verdict, Path.Combine(dir, "data.txt"));
        File.WriteAllText(Path.Combine(dir, "notes.md"), "the user's own notes");
        return dir;
    }

    static string[] Snapshot(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(dir, p)).Order().ToArray();

    static double[] TrainLosses(string run) => File.ReadAllLines(Path.Combine(run, RunFiles.Metrics))
        .Select(l => JsonNode.Parse(l)!.AsObject()).Where(m => m["train_loss"] != null)
        .Select(m => m["train_loss"]!.GetValue<double>()).ToArray();

    // ---- 1. --overwrite deletes only a run ------------------------------------------------------

    [Fact]
    public void OverwriteOfTheWorkingDirectoryWithUserFilesDeletesNothing()
    {
        string home = UserDir("home");
        var before = Snapshot(home);
        var result = CliRunner.RunIn(home, Pretrain("data.txt", ".", "--overwrite"));
        CliRunner.AssertBadInput(result, "holds files that are not an LlmForge run's (data.txt, notes.md)");
        Assert.Equal(before, Snapshot(home));
    }

    [Fact]
    public void OverwriteOfTheDirectoryHoldingTheDataDeletesNothing()
    {
        string d2 = Path.Combine(_dir, "d2");
        Directory.CreateDirectory(d2);
        File.Copy(TestPaths.Verdict, Path.Combine(d2, "data.txt"));
        var result = CliRunner.RunIn(_dir, Pretrain("d2/data.txt", "d2", "--overwrite"));
        CliRunner.AssertBadInput(result, "data.txt");
        Assert.Equal(File.ReadAllText(TestPaths.Verdict), File.ReadAllText(Path.Combine(d2, "data.txt")));
    }

    [Fact]
    public void OverwriteNeverRemovesTheCurrentDirectoryEvenWhenItIsARun()
    {
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, CliRunner.Run(Pretrain(TestPaths.Verdict, run)).ExitCode);
        var before = Snapshot(run);
        var result = CliRunner.RunIn(run, Pretrain(TestPaths.Verdict, ".", "--overwrite"));
        CliRunner.AssertBadInput(result, "is the current directory or a parent of it");
        Assert.Equal(before, Snapshot(run));
        // From its parent, too: a parent of the working directory is never removed.
        var fromInside = CliRunner.RunIn(Path.Combine(run, "checkpoints"), Pretrain(TestPaths.Verdict, "..", "--overwrite"));
        CliRunner.AssertBadInput(fromInside, "is the current directory or a parent of it");
        Assert.Equal(before, Snapshot(run));
    }

    [Fact]
    public void OverwriteOfARunHoldingAUserFileOrTheInitialWeightsIsRefused()
    {
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, CliRunner.Run(Pretrain(TestPaths.Verdict, run)).ExitCode);
        // Starting from the run's own weights: replacing it would delete them.
        CliRunner.AssertBadInput(CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--overwrite", "--init", run, "--config", TestPaths.TinyConfig)), $"holds --init {run}");
        File.WriteAllText(Path.Combine(run, "checkpoints", "mine.txt"), "mine");
        var before = Snapshot(run);
        CliRunner.AssertBadInput(CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--overwrite")), "(checkpoints/mine.txt)");
        Assert.Equal(before, Snapshot(run));
    }

    [Fact]
    public void OverwriteReplacesARunAndSaysSo()
    {
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, CliRunner.Run(Pretrain(TestPaths.Verdict, run)).ExitCode);
        var refused = CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--max-steps", "3"));
        CliRunner.AssertBadInput(refused, "already holds a run; use --resume");
        var replaced = CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--max-steps", "3", "--overwrite"));
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        Assert.Contains("replaced the run that was there", replaced.Stderr);
        Assert.Equal(3, TrainLosses(run).Length);
        Assert.Equal(["step-000003"], Directory.EnumerateDirectories(Checkpoint.CheckpointsDir(run)).Select(Path.GetFileName));
    }

    // ---- 4. one writer per run ------------------------------------------------------------------

    [Fact]
    public void ASecondProcessOnARunIsRefusedWhileTheFirstWrites()
    {
        string run = Path.Combine(_dir, "busy");
        using var first = CliRunner.Start(Pretrain(TestPaths.Verdict, run, "--max-steps", "100000", "--save-every", "2", "--sample-tokens", "0", "--eval-every", "100000"));
        WaitForCheckpoint(run, first);
        CliRunner.AssertBadInput(CliRunner.Run("pretrain", "--resume", run), "another llmforge process is writing this run");
        CliRunner.AssertBadInput(CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--overwrite")), "another llmforge process is writing this run");
        first.Kill();
        first.WaitForExit();
        // The kill released the lock: the run resumes where its last checkpoint was.
        long saved = Checkpoint.StepOf(Checkpoint.Latest(run)!);
        using var resumed = CliRunner.Start("pretrain", "--resume", run);
        WaitForLine(run, (int)saved + 2, resumed);
        resumed.Kill();
        resumed.WaitForExit();
    }

    static void WaitForCheckpoint(string run, Process process)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !process.HasExited)
        {
            if (Checkpoint.Latest(run) != null) return;
            Thread.Sleep(20);
        }
        Assert.Fail($"no checkpoint appeared: {process.StandardError.ReadToEnd()}");
    }

    static void WaitForLine(string run, int lines, Process process)
    {
        var clock = Stopwatch.StartNew();
        string metrics = Path.Combine(run, RunFiles.Metrics);
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !process.HasExited)
        {
            if (File.Exists(metrics) && File.ReadAllLines(metrics).Length >= lines) return;
            Thread.Sleep(20);
        }
        Assert.Fail($"the run did not log {lines} lines: {process.StandardError.ReadToEnd()}");
    }

    // ---- 6. checkpoints cannot be edited into something else --------------------------------------

    string TrainedRun(string name)
    {
        string run = Path.Combine(_dir, name);
        var result = CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--max-steps", "4", "--save-every", "2", "--keep-checkpoints", "1"));
        Assert.True(result.ExitCode == 0, result.Stderr);
        return run;
    }

    [Fact]
    public void AnEmptiedChecksumListIsRefusedNotTrusted()
    {
        string run = TrainedRun("emptied");
        string checkpoint = Checkpoint.Latest(run)!;
        File.WriteAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile), "{}");
        CliRunner.AssertBadInput(CliRunner.Run("pretrain", "--resume", run), "lists no checksum for config.json");
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", run, "--prompt", "Hi", "--max-new-tokens", "2"), "lists no checksum");
        // A list that leaves one file out is refused as well.
        var list = new JsonObject();
        foreach (var file in new[] { "config.json", "model.safetensors" })
            list[file] = FileHash.Sha256(Path.Combine(checkpoint, file));
        File.WriteAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile), list.ToJsonString());
        CliRunner.AssertBadInput(CliRunner.Run("pretrain", "--resume", run), "lists no checksum for optimizer.safetensors");
        // Without any list, a checkpoint is not taken as a plain model directory either.
        File.Delete(Path.Combine(checkpoint, Checkpoint.ChecksumsFile));
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", checkpoint, "--prompt", "Hi", "--max-new-tokens", "2"), "not a complete checkpoint (no checksums.json)");
    }

    [Fact]
    public void ALatestPointerOutsideTheRunIsNotFollowed()
    {
        string other = TrainedRun("other");
        string run = TrainedRun("pointed");
        File.WriteAllText(Path.Combine(Checkpoint.CheckpointsDir(run), "latest"), Path.GetRelativePath(Checkpoint.CheckpointsDir(run), Checkpoint.Latest(other)!));
        CliRunner.AssertBadInput(CliRunner.Run("pretrain", "--resume", run), "expected a step-N checkpoint of this run");
        CliRunner.AssertBadInput(CliRunner.Run("eval", "--model", run, "--file", TestPaths.Verdict, "--context-length", "16"), "expected a step-N checkpoint of this run");
    }

    [Theory]
    [InlineData("step", 1000000, "'step' is 1000000, expected 1 to 4")]
    [InlineData("step", -5, "'step' is -5, expected 1 to 4")]
    [InlineData("step", 2, "'step' is 2, but the checkpoint is step-000004")]
    [InlineData("optimizer_steps", 9, "'optimizer_steps' is 9, expected 4 to 4")]
    [InlineData("tokens_seen", -1, "'tokens_seen' is -1")]
    [InlineData("total_steps", 0, "'total_steps' is 0")]
    public void TrainerStateFieldsOutOfRangeAreBadInput(string field, long value, string expected)
    {
        string run = TrainedRun("state");
        string checkpoint = Checkpoint.Latest(run)!;
        string statePath = Path.Combine(checkpoint, "trainer_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        state[field] = value;
        File.WriteAllText(statePath, state.ToJsonString());
        var list = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile)))!.AsObject();
        list["trainer_state.json"] = FileHash.Sha256(statePath);
        File.WriteAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile), list.ToJsonString());
        CliRunner.AssertBadInput(CliRunner.Run("pretrain", "--resume", run), expected);
    }

    // ---- 11, 14, 16: bad input is found before anything is written --------------------------------

    [Theory]
    [InlineData("--lr", "Infinity", "--lr: 'Infinity' is not a finite number")]
    [InlineData("--weight-decay", "NaN", "--weight-decay: 'NaN' is not a finite number")]
    [InlineData("--context-length", "64", "longer than the model's context of 16")]
    [InlineData("--batch-size", "400", "make no full step")]
    [InlineData("--batch-size", "100000000", "a training step on batches of 100000000 × 16 tokens")]
    public void BadOptionsLeaveNoRunDirectory(string option, string value, string expected)
    {
        string run = Path.Combine(_dir, "never");
        CliRunner.AssertBadInput(CliRunner.Run(Pretrain(TestPaths.Verdict, run, option, value)), expected);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void TheLibraryRefusesOptionsThatAreNotFiniteNumbers()
    {
        // The command line refuses these while parsing; a program building PretrainingOptions meets this check.
        var options = new PretrainingOptions { Data = TestPaths.Verdict, Lr = double.PositiveInfinity };
        Assert.Contains("--lr must be a finite number", Assert.Throws<BadInputException>(() => options.Validated()).Message);
        options = options with { Lr = 1e-3, GradClip = double.NaN };
        Assert.Contains("--grad-clip must be a finite number", Assert.Throws<BadInputException>(() => options.Validated()).Message);
    }

    [Fact]
    public void ATokenizerOfAnotherSizeThanTheModelIsRefusedBeforeTraining()
    {
        string tokenizer = Path.Combine(_dir, "tok");
        var trained = CliRunner.Run("tokenizer", "train", "--data", TestPaths.Verdict, "--vocab-size", "300", "--out", tokenizer);
        Assert.True(trained.ExitCode == 0, trained.Stderr);
        string run = Path.Combine(_dir, "mismatched");
        CliRunner.AssertBadInput(CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--tokenizer", tokenizer)),
            "the model's vocabulary has 50257 ids, the tokenizer");
        Assert.False(Directory.Exists(run));
        // A config with the tokenizer's vocabulary trains, samples and decodes.
        string config = Path.Combine(_dir, "config-300.json");
        var json = JsonNode.Parse(File.ReadAllText(TestPaths.TinyConfig))!.AsObject();
        json["vocab_size"] = 300;
        File.WriteAllText(config, json.ToJsonString());
        var matched = CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--tokenizer", tokenizer, "--config", config));
        Assert.True(matched.ExitCode == 0, matched.Stderr);
    }

    [Fact]
    public void StaleTemporariesOfARunAreRemovedWhenItResumes()
    {
        string run = TrainedRun("stale");
        var stale = new[] { "loss.png.tmp.png", "metrics.jsonl.tmp", "samples.txt.tmp", "checkpoints/.tmp-step-000009-0123abcd", "checkpoints/latest.tmp" };
        foreach (var path in stale.Select(s => Path.Combine(run, s)))
            if (path.Contains(".tmp-step-")) Directory.CreateDirectory(path);
            else File.WriteAllText(path, "half");
        // Resuming a completed run does no step but takes the run over and cleans up.
        var resumed = CliRunner.Run("pretrain", "--resume", run);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.All(stale, s => Assert.False(Path.Exists(Path.Combine(run, s)), s));
    }

    // ---- 19. killed before its first checkpoint ---------------------------------------------------

    [Fact]
    public void ARunKilledBeforeItsFirstCheckpointStartsAgainOnResumeOrOnANewRun()
    {
        string reference = Path.Combine(_dir, "reference");
        Assert.Equal(0, CliRunner.Run(Pretrain(TestPaths.Verdict, reference, "--max-steps", "30", "--save-every", "1000")).ExitCode);

        string run = Path.Combine(_dir, "early");
        foreach (var again in new Func<CliRunner.Result>[]
        {
            () => CliRunner.Run("pretrain", "--resume", run),
            () => CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--max-steps", "30", "--save-every", "1000")),
        })
        {
            if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
            using (var killed = CliRunner.Start(Pretrain(TestPaths.Verdict, run, "--max-steps", "30", "--save-every", "1000")))
            {
                WaitForLine(run, 3, killed);
                killed.Kill();
                killed.WaitForExit();
            }
            Assert.Null(Checkpoint.Latest(run));
            var result = again();
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("first checkpoint", result.Stderr);
            Assert.Equal(TrainLosses(reference), TrainLosses(run));
        }
    }

    // ---- 15. relative paths ----------------------------------------------------------------------

    [Fact]
    public void ARunStartedWithRelativePathsResumesFromAnotherDirectory()
    {
        string home = UserDir("project");
        File.Copy(TestPaths.TinyConfig, Path.Combine(home, "tiny.json"));
        var args = Pretrain("data.txt", "runs/rel", "--config", "tiny.json", "--max-steps", "4", "--save-every", "2");
        using (var first = CliRunner.Start(args, null, home))
        {
            Assert.True(first.WaitForExit(120_000));
            Assert.True(first.ExitCode == 0, first.StandardError.ReadToEnd());
        }
        string run = Path.Combine(home, "runs", "rel");
        var options = RunFiles.ReadOptions<PretrainingOptions>(run)!;
        Assert.Equal(Path.Combine(home, "data.txt"), options.Data);
        Assert.Equal(Path.Combine(home, "tiny.json"), options.ConfigPath);
        // Resumed from elsewhere (a completed run resumes to "done" without steps).
        var resumed = CliRunner.RunIn(_dir, "pretrain", "--resume", run);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        // The data moved away: the message names it.
        File.Move(Path.Combine(home, "data.txt"), Path.Combine(home, "moved.txt"));
        CliRunner.AssertBadInput(CliRunner.RunIn(_dir, "pretrain", "--resume", run), $"the run's --data {Path.Combine(home, "data.txt")} is missing");
    }

    // ---- 23, 24. what the user reads ---------------------------------------------------------------

    [Fact]
    public void SamplesKeepTheirNewlinesOneBlockPerStepAndProgressNamesItsFigures()
    {
        string run = Path.Combine(_dir, "samples");
        var result = CliRunner.Run(Pretrain(TestPaths.Verdict, run, "--sample-prompt", "First line\nSecond line"));
        Assert.True(result.ExitCode == 0, result.Stderr);
        string samples = File.ReadAllText(Path.Combine(run, RunFiles.Samples));
        Assert.StartsWith("[step 0]\nFirst line\nSecond line", samples);
        Assert.Equal(3, samples.Split("\n\n[step ").Length); // steps 0, 3 and 6
        Assert.Contains("\n[step 6]\nFirst line\nSecond line", samples);
        Assert.Contains("batch loss", result.Stderr);
        Assert.Matches(@"done: 6 steps in \d\d:\d\d", result.Stderr);
    }

    [Fact]
    public void TimeLeftWaitsForWarmupThenFollowsRecentSteps()
    {
        var estimate = new TimeLeftEstimate();
        estimate.Add(60); // a slow first step
        Assert.Null(estimate.For(100));
        estimate.Add(5);
        estimate.Add(5);
        Assert.Null(estimate.For(100));
        estimate.Add(1);
        estimate.Add(3);
        Assert.Equal(TimeSpan.FromSeconds(200), estimate.For(100));
        for (int i = 0; i < TimeLeftEstimate.Window; i++) estimate.Add(0.5);
        Assert.Equal(TimeSpan.FromSeconds(50), estimate.For(100));
    }
}
