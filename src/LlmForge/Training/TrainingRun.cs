using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// How a run directory starts and resumes, the same for every trainer: a new run never replaces
/// what must be kept (foreign files; a run with a checkpoint unless <c>--overwrite</c>); a resumed run
/// continues from its newest checkpoint with its own options, the weights, the optimiser state and
/// the counters; one process at a time holds the run's lock. A trainer's own part (its data, its
/// model, its evaluator) comes in as <c>build</c>: given the options and, when resuming, the
/// checkpoint's model with its tokenizer (null for a new run, which builds its own), it returns the
/// trainer, and disposes the model it was given when it fails.
/// </summary>
public static class TrainingRun
{
    /// <summary>
    /// Sets up a new run in <paramref name="runDir"/>. Everything is validated and loaded before the
    /// directory is created or touched.
    /// </summary>
    public static Trainer<TBatch> Start<TBatch>(TrainingOptions options, string runDir, bool overwrite,
        Func<TrainingOptions, LoadedModel?, Trainer<TBatch>> build) => Start(options, runDir, overwrite, build, held: null);

    static Trainer<TBatch> Start<TBatch>(TrainingOptions options, string runDir, bool overwrite,
        Func<TrainingOptions, LoadedModel?, Trainer<TBatch>> build, RunLock? held)
    {
        bool existed = Directory.Exists(runDir);
        Trainer<TBatch> trainer;
        try
        {
            options = options.WithAbsolutePaths().Validated();
            RequireReplaceable(runDir, overwrite, restarting: held != null);
            trainer = build(options, null);
        }
        catch
        {
            held?.Dispose();
            throw;
        }
        try
        {
            trainer.Lock = held ?? RunLock.Acquire(runDir);
            // Checked again under the lock: another process may have saved a checkpoint meanwhile.
            bool replacing = RequireReplaceable(runDir, overwrite, restarting: held != null);
            if (replacing)
            {
                bool hadCheckpoint = Checkpoint.Latest(runDir) != null;
                OutputDirectory.Clear(runDir, RunFiles.Kind, "--out", options.Inputs().ToList(), RunFiles.Lock);
                trainer.Notice = hadCheckpoint ? $"{runDir}: replaced the run that was there (--overwrite)"
                    : $"{runDir}: replaced a run that had stopped before its first checkpoint";
            }
            AtomicFile.WriteAllText(Path.Combine(runDir, RunFiles.Options), options.ToJson().ToJsonString(TrainingOptions.Json));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            // Nothing of ours is left where nothing was: a directory this call created goes again.
            if (!existed && Directory.Exists(runDir) && OutputDirectory.ForeignEntries(runDir, RunFiles.Kind).Count == 0)
                Directory.Delete(runDir, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Whether <paramref name="runDir"/> holds a run that a new one replaces (true), is missing or empty
    /// (false), or must be kept (bad input): foreign files, or a run with a checkpoint and no --overwrite.
    /// </summary>
    static bool RequireReplaceable(string runDir, bool overwrite, bool restarting)
    {
        if (!OutputDirectory.CheckAvailable(runDir, RunFiles.Kind, "--out")) return false;
        if (overwrite || restarting) return true;
        var entries = Directory.EnumerateFileSystemEntries(runDir).Select(Path.GetFileName).ToList();
        if (entries.All(e => e == RunFiles.Lock)) return false; // only a lock: nothing was written yet
        if (Checkpoint.Latest(runDir) == null) return true;      // killed before its first save: nothing to lose
        throw new BadInputException($"{runDir}: already holds a run; use --resume {runDir} to continue it, another --out, or --overwrite to replace it");
    }

    /// <summary>Continues the run in <paramref name="runDir"/> from its newest checkpoint.</summary>
    /// <remarks>A run stopped before its first checkpoint starts again from step 0 with its saved options.</remarks>
    public static Trainer<TBatch> Resume<TOptions, TBatch>(string runDir, Func<TOptions, LoadedModel?, Trainer<TBatch>> build)
        where TOptions : TrainingOptions
    {
        if (!Directory.Exists(runDir)) throw new BadInputException($"{runDir}: no such run directory");
        if (!Directory.Exists(Checkpoint.CheckpointsDir(runDir)) && !File.Exists(Path.Combine(runDir, RunFiles.Options)))
            throw new BadInputException($"{runDir}: not a training run (no checkpoints/ or {RunFiles.Options})");
        Trainer<TBatch> Build(TrainingOptions options, LoadedModel? model) =>
            options is TOptions own ? build(own, model) : throw new BadInputException($"{runDir}: the run was made by another kind of training");
        var runLock = RunLock.Acquire(runDir);
        try
        {
            if (Checkpoint.Latest(runDir) == null)
            {
                var saved = RunFiles.ReadOptions<TOptions>(runDir) ?? throw new BadInputException($"{runDir}: the run has no checkpoint to resume from and no {RunFiles.Options} to start it again");
                var restarted = Start(saved, runDir, overwrite: false, Build, held: runLock);
                restarted.Notice = $"{runDir}: the run stopped before its first checkpoint; starting it again from step 0 with its saved options";
                return restarted;
            }
            var trainer = ResumeFromCheckpoint<TOptions, TBatch>(runDir, build);
            trainer.Lock = runLock;
            return trainer;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    static Trainer<TBatch> ResumeFromCheckpoint<TOptions, TBatch>(string runDir, Func<TOptions, LoadedModel?, Trainer<TBatch>> build)
        where TOptions : TrainingOptions
    {
        RunFiles.RemoveStaleTemporaries(runDir);
        string checkpoint = Checkpoint.Latest(runDir)!;
        Checkpoint.Verify(checkpoint);
        string statePath = Path.Combine(checkpoint, "trainer_state.json");
        JsonObject state;
        TOptions options;
        try
        {
            state = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new JsonException("not a JSON object");
            options = state["options"].Deserialize<TOptions>(TrainingOptions.Json) ?? throw new JsonException("no options");
        }
        catch (Exception e) when (e is JsonException or FileNotFoundException or NotSupportedException)
        {
            throw new BadInputException($"{statePath}: missing or damaged ({e.Message})");
        }
        options.Validated();
        long Field(string name, long min, long max) => state[name] is JsonValue value && value.TryGetValue(out long number)
            ? number >= min && number <= max ? number : throw new BadInputException($"{statePath}: '{name}' is {number}, expected {min} to {max}")
            : throw new BadInputException($"{statePath}: no integer '{name}'");
        long totalSteps = Field("total_steps", 1, long.MaxValue);
        long step = Field("step", 1, totalSteps);
        if (step != Checkpoint.StepOf(checkpoint))
            throw new BadInputException($"{statePath}: 'step' is {step}, but the checkpoint is {Path.GetFileName(checkpoint)}");
        Field("optimizer_steps", step, step);
        long tokensSeen = Field("tokens_seen", 0, long.MaxValue);
        double elapsedBefore = state["elapsed_s"] is JsonValue elapsed && elapsed.TryGetValue(out double seconds) && double.IsFinite(seconds) && seconds >= 0 ? seconds : 0;

        var loaded = ModelLoader.Load(checkpoint);
        if (options.Dropout is double rate && loaded.Network is GptModel { Config.DropRate: var saved } && rate != saved)
        {
            loaded.Dispose();
            throw new BadInputException($"{checkpoint}: its config has drop_rate {saved}, the run's options {rate}");
        }
        var trainer = build(options, loaded);
        try
        {
            if (trainer.TotalSteps != totalSteps)
                throw new BadInputException($"{checkpoint}: the run had {totalSteps} steps in all, its options now give {trainer.TotalSteps}");
            foreach (var (key, now) in trainer.Facts)
                if (!JsonNode.DeepEquals(now, state[key]))
                    throw new BadInputException($"{runDir}: the data changed since the run started ({key} {now?.ToJsonString()} now, {state[key]?.ToJsonString() ?? "none"} then)");
            using var optimizerState = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors"));
            // The optimizer takes its own copies of the moments; the handles read here are released after.
            var read = new List<TorchSharp.torch.Tensor>();
            trainer.Restore(step, tokensSeen, elapsedBefore, name =>
            {
                if (!optimizerState.Names.Contains(name)) return null;
                read.Add(optimizerState.Read(name));
                return read[^1];
            }, checkpoint);
            read.ForEach(t => t.Dispose());
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>The files a resumed run reads again must still be there (a name such as gpt2 is not a file).</summary>
    public static void RequireInputs(string runDir, IEnumerable<(string Option, string? Path)> inputs)
    {
        foreach (var (option, path) in inputs)
            if (path != null && Path.IsPathRooted(path) && !File.Exists(path) && !Directory.Exists(path))
                throw new BadInputException($"{runDir}: the run's {option} {path} is missing; the run was started with it and needs it to continue");
    }
}
