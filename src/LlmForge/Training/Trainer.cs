using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Data;
using LlmForge.Generation;
using LlmForge.Interop;
using LlmForge.Model;
using LlmForge.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmForge.Training;

/// <summary>How a call to <see cref="Trainer.Run"/> ended.</summary>
public enum TrainingOutcome { Completed, Interrupted, LossNotFinite }

/// <summary>What the trainer reports after each optimiser step, for progress displays.</summary>
/// <param name="Loss">the loss of this step's batches (not the evaluation's average over several batches).</param>
/// <param name="Remaining">the time left, estimated from recent steps; null during the first steps.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double TokensPerSecond, TimeSpan? Remaining, double? ValLoss);

/// <summary>
/// The book's <c>train_model_simple</c> (chapter 5) with appendix D's additions: for each optimiser step,
/// the batches' loss, backpropagation (accumulated over <c>GradAccumulation</c> batches), optional
/// clipping, and an AdamW update at the scheduled learning rate; evaluations, sample text, metrics, a
/// loss plot and checkpoints along the way. Dropout is seeded from (seed, step), and the data order
/// from (seed, epoch), so a resumed run continues exactly as the uninterrupted one would have.
/// </summary>
public sealed partial class Trainer : IDisposable
{
    readonly TrainerOptions _options;
    readonly string _runDir;
    readonly GptModel _model;
    readonly ITokenizer _tokenizer;
    readonly string _tokenizerSpec;
    readonly AdamW _optimizer;
    readonly MixedPrecision? _mixed; // bf16 compute copy of the model, when asked for
    readonly DataLoader _train;
    readonly DataLoader? _val;
    readonly LearningRateSchedule _schedule;
    readonly int _stepsPerEpoch;
    readonly PretrainingData _data;
    readonly TrainingStep<TokenBatch> _trainingStep;

    RunLock? _lock;        // held while this trainer may write the run
    long _step;            // optimiser steps done
    long _tokensSeen;
    double _elapsedBefore; // seconds spent in earlier sessions of this run

    Trainer(TrainerOptions options, string runDir, GptModel model, ITokenizer tokenizer, string tokenizerSpec, PretrainingData data)
    {
        _options = options;
        _runDir = runDir;
        _model = model;
        _tokenizer = tokenizer;
        _tokenizerSpec = tokenizerSpec;
        _data = data;
        int contextLength = options.ContextLength ?? model.Config.ContextLength;
        if (contextLength > model.Config.ContextLength)
            throw new BadInputException($"--context-length {contextLength} is longer than the model's context of {model.Config.ContextLength}");
        int stride = options.Stride ?? contextLength;
        if (data.TrainIds.Length <= contextLength)
            throw new BadInputException($"{options.Data}: the training text has {data.TrainIds.Length} tokens, fewer than one window of {contextLength} plus one");
        _train = new DataLoader(new GptDataset(data.TrainIds, contextLength, stride), options.BatchSize, options.Shuffle, dropLast: true, (ulong)options.Seed);
        if (options.ValFraction > 0)
        {
            if (data.ValIds.Length <= contextLength)
                throw new BadInputException($"{options.Data}: the validation text has {data.ValIds.Length} tokens, fewer than one window of {contextLength} plus one; lower --context-length or raise --val-fraction (0 turns validation off)");
            _val = new DataLoader(new GptDataset(data.ValIds, contextLength, contextLength), options.BatchSize, shuffle: false, dropLast: false);
        }
        _stepsPerEpoch = _train.Count / options.GradAccumulation;
        if (_stepsPerEpoch == 0)
            throw new BadInputException($"{options.Data}: {_train.Dataset.Count} windows make no full step of {options.BatchSize} × {options.GradAccumulation} batches; lower --batch-size or --grad-accumulation");
        TotalSteps = options.MaxSteps ?? (long)(options.Epochs ?? 1) * _stepsPerEpoch;
        _schedule = new LearningRateSchedule(options.Lr, options.WarmupSteps, options.InitialLr, options.MinLr);
        // The run's device: resolved again (a cuda run resumed on a CPU-only build is refused), then every tensor follows the model.
        ComputeDevice.MoveTo(model, ComputeDevice.Resolve(options.Device));
        _optimizer = AdamW.For(model, options.Lr, options.WeightDecay);
        if (options.Precision == "bf16") _mixed = new MixedPrecision(model);
        _trainingStep = new TrainingStep<TokenBatch>(model, _optimizer, NextTokenLoss, _mixed, options.GradClip);
    }

    public long TotalSteps { get; }

    public long Step => _step;

    public GptModel Model => _model;

    /// <summary>The options the run trains with (paths made absolute).</summary>
    public TrainerOptions Options => _options;

    /// <summary>Called after every optimiser step.</summary>
    public Action<TrainingProgress>? Progress { get; set; }

    /// <summary>Called with one-line notes (evaluations, checkpoints).</summary>
    public Action<string>? Log { get; set; }

    public string MetricsPath => Path.Combine(_runDir, RunFiles.Metrics);
    public string PlotPath => Path.Combine(_runDir, RunFiles.Plot);
    public string SamplesPath => Path.Combine(_runDir, RunFiles.Samples);

    // ---- starting and resuming -------------------------------------------------------------------

    /// <summary>A note for the user about how the run was set up (a replaced run, a restart), or null.</summary>
    public string? Notice { get; private set; }

    /// <summary>
    /// Sets up a new run in <paramref name="runDir"/>. A directory that already holds a run with a
    /// checkpoint needs <paramref name="overwrite"/>; one holding anything that is not a run's is refused.
    /// Everything is validated and loaded before the directory is created or touched.
    /// </summary>
    public static Trainer Start(TrainerOptions options, string runDir, bool overwrite) => Start(options, runDir, overwrite, held: null);

    static Trainer Start(TrainerOptions options, string runDir, bool overwrite, RunLock? held)
    {
        options = options.WithAbsolutePaths().Validated();
        bool existed = Directory.Exists(runDir);
        RequireReplaceable(runDir, overwrite, restarting: held != null);
        var (tokenizer, tokenizerSpec) = LoadTokenizer(options.Tokenizer);
        var data = PretrainingData.Load(options.Data, tokenizer, options.ValFraction);
        manual_seed(options.Seed);
        var model = CreateModel(options, tokenizer);
        try
        {
            int context = options.ContextLength ?? model.Config.ContextLength;
            MemoryBudget.Require(MemoryBudget.TrainingBytes(model.Config, (long)options.BatchSize, context, options.Precision == "bf16"),
                $"a training step on batches of {options.BatchSize} × {context} tokens (weights, gradients, AdamW state, activations)");
        }
        catch
        {
            model.Dispose();
            held?.Dispose();
            throw;
        }
        Trainer trainer;
        try
        {
            trainer = new Trainer(options, runDir, model, tokenizer, tokenizerSpec, data);
        }
        catch
        {
            model.Dispose();
            held?.Dispose();
            throw;
        }
        try
        {
            trainer._lock = held ?? RunLock.Acquire(runDir);
            // Checked again under the lock: another process may have saved a checkpoint meanwhile.
            bool replacing = RequireReplaceable(runDir, overwrite, restarting: held != null);
            if (replacing)
            {
                bool hadCheckpoint = Checkpoint.Latest(runDir) != null;
                OutputDirectory.Clear(runDir, RunFiles.Kind, "--out",
                    [("--data", options.Data), ("--init", options.Init), ("--config", options.ConfigPath), ("--tokenizer", options.Tokenizer)], RunFiles.Lock);
                trainer.Notice = hadCheckpoint ? $"{runDir}: replaced the run that was there (--overwrite)"
                    : $"{runDir}: replaced a run that had stopped before its first checkpoint";
            }
            AtomicFile.WriteAllText(Path.Combine(runDir, RunFiles.Options), JsonSerializer.Serialize(options, TrainerOptions.Json));
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
    public static Trainer Resume(string runDir)
    {
        if (!Directory.Exists(runDir)) throw new BadInputException($"{runDir}: no such run directory");
        if (!Directory.Exists(Checkpoint.CheckpointsDir(runDir)) && !File.Exists(Path.Combine(runDir, RunFiles.Options)))
            throw new BadInputException($"{runDir}: not a training run (no checkpoints/ or {RunFiles.Options})");
        var runLock = RunLock.Acquire(runDir);
        try
        {
            if (Checkpoint.Latest(runDir) == null)
            {
                var saved = RunFiles.ReadOptions(runDir) ?? throw new BadInputException($"{runDir}: the run has no checkpoint to resume from and no {RunFiles.Options} to start it again");
                var restarted = Start(saved, runDir, overwrite: false, held: runLock);
                restarted.Notice = $"{runDir}: the run stopped before its first checkpoint; starting it again from step 0 with its saved options";
                return restarted;
            }
            var trainer = ResumeFromCheckpoint(runDir);
            trainer._lock = runLock;
            return trainer;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    static Trainer ResumeFromCheckpoint(string runDir)
    {
        RunFiles.RemoveStaleTemporaries(runDir);
        string checkpoint = Checkpoint.Latest(runDir)!;
        Checkpoint.Verify(checkpoint);
        string statePath = Path.Combine(checkpoint, "trainer_state.json");
        JsonObject state;
        TrainerOptions options;
        try
        {
            state = JsonNode.Parse(File.ReadAllText(statePath)) as JsonObject ?? throw new JsonException("not a JSON object");
            options = state["options"].Deserialize<TrainerOptions>(TrainerOptions.Json) ?? throw new JsonException("no options");
        }
        catch (Exception e) when (e is JsonException or FileNotFoundException)
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
        long optimizerSteps = Field("optimizer_steps", step, step);
        long tokensSeen = Field("tokens_seen", 0, long.MaxValue);
        long trainTokens = Field("train_tokens", 0, int.MaxValue), valTokens = Field("val_tokens", 0, int.MaxValue);
        double elapsedBefore = state["elapsed_s"] is JsonValue elapsed && elapsed.TryGetValue(out double seconds) && double.IsFinite(seconds) && seconds >= 0 ? seconds : 0;
        foreach (var (option, path) in new[] { ("--data", options.Data), ("--tokenizer", options.Tokenizer is "gpt2" ? null : options.Tokenizer) })
            if (path != null && !File.Exists(path) && !Directory.Exists(path))
                throw new BadInputException($"{runDir}: the run's {option} {path} is missing; the run was started with it and needs it to continue");

        var (tokenizer, tokenizerSpec) = LoadTokenizer(options.Tokenizer);
        var data = PretrainingData.Load(options.Data, tokenizer, options.ValFraction);
        if (data.TrainIds.Length != trainTokens || data.ValIds.Length != valTokens)
            throw new BadInputException($"{options.Data}: the data changed since the run started ({data.TrainIds.Length} training tokens now, {trainTokens} then)");
        var model = ModelLoader.Load(checkpoint).Model;
        Trainer? trainer = null;
        try
        {
            if (options.Dropout is double rate && rate != model.Config.DropRate)
                throw new BadInputException($"{checkpoint}: its config has drop_rate {model.Config.DropRate}, the run's options {rate}");
            trainer = new Trainer(options, runDir, model, tokenizer, tokenizerSpec, data);
            if (trainer.TotalSteps != totalSteps)
                throw new BadInputException($"{checkpoint}: the run had {totalSteps} steps in all, its options now give {trainer.TotalSteps}");
            using (var optimizerState = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors")))
            {
                // The optimizer takes its own references to the moments; the handles read here are released after.
                var read = new List<Tensor>();
                trainer._optimizer.LoadState(name =>
                {
                    if (!optimizerState.Names.Contains(name)) return null;
                    read.Add(optimizerState.Read(name));
                    return read[^1];
                }, optimizerSteps, checkpoint);
                read.ForEach(t => t.Dispose());
            }
            trainer._step = step;
            trainer._tokensSeen = tokensSeen;
            trainer._elapsedBefore = elapsedBefore;
            return trainer;
        }
        catch
        {
            if (trainer != null) trainer.Dispose();
            else model.Dispose();
            throw;
        }
    }

    static (ITokenizer, string) LoadTokenizer(string spec)
    {
        if (spec == "gpt2") return (TokenizerLoader.Gpt2Default, "gpt2");
        if (spec == "simple") throw new BadInputException("--tokenizer simple builds its vocabulary from one text and cannot be saved with a model; train a BPE tokenizer instead");
        return (Gpt2Tokenizer.Load(spec), spec);
    }

    static GptModel CreateModel(TrainerOptions options, ITokenizer tokenizer)
    {
        GptModel model;
        if (options.Init != null)
        {
            var loaded = ModelLoader.Load(options.Init, options.ConfigPath);
            model = loaded.Model;
            if (options.Dropout is double rate && rate != model.Config.DropRate)
            {
                // Dropout modules take their rate when built: rebuild with the new rate and the same weights.
                var rebuilt = new GptModel(model.Config with { DropRate = rate });
                using (no_grad())
                    foreach (var ((_, target), (_, source)) in rebuilt.named_parameters().Zip(model.named_parameters()))
                        target.copy_(source);
                model.Dispose();
                model = rebuilt;
            }
        }
        else
        {
            var config = options.ConfigPath != null ? GptConfig.Load(options.ConfigPath) : GptConfig.Preset(options.Preset ?? "gpt2-small");
            // With a preset, --context-length also sets the model's context (the book's run uses 256).
            if (options.ConfigPath == null && options.ContextLength is int context) config = config with { ContextLength = context };
            if (options.Dropout is double rate) config = config with { DropRate = rate };
            if (options.ConfigPath == null) config = config with { VocabSize = tokenizer.VocabSize };
            model = new GptModel(config.Validated("model config"));
        }
        // A larger model vocabulary would let samples hold ids the tokenizer cannot decode; a smaller one, ids it cannot embed.
        if (model.Config.VocabSize != tokenizer.VocabSize)
        {
            model.Dispose();
            string source = options.Init != null ? $"--init {options.Init}" : $"--config {options.ConfigPath}";
            throw new BadInputException($"{source}: the model's vocabulary has {model.Config.VocabSize} ids, the tokenizer {options.Tokenizer} has {tokenizer.VocabSize}; they must be equal"
                + (options.Init == null ? $" (set vocab_size to {tokenizer.VocabSize}, or use a preset, which takes the tokenizer's)" : ""));
        }
        return model;
    }

    // ---- the loop -------------------------------------------------------------------------------

    public TrainingOutcome Run(CancellationToken stop = default)
    {
        using var metrics = new MetricsLog(MetricsPath, _step);
        TruncateSamples(_step);
        var clock = Stopwatch.StartNew();
        var timeLeft = new TimeLeftEstimate();
        double stepStarted = 0;
        long sessionStartTokens = _tokensSeen;
        double Elapsed() => _elapsedBefore + clock.Elapsed.TotalSeconds;

        if (_step == 0 && metrics.Entries.Count == 0)
        {
            // The book's baseline: both losses before any training (about 10.98 for GPT-2 on the verdict).
            var baseline = Entry(0, _schedule.At(0, TotalSteps), Elapsed());
            Evaluate(baseline);
            metrics.Append(baseline);
            LossPlot.Save(PlotPath, metrics.Entries);
        }

        stepStarted = clock.Elapsed.TotalSeconds;
        _model.train();
        while (_step < TotalSteps)
        {
            long g = _step; // this step's index, from 0
            int epoch = (int)(g / _stepsPerEpoch);
            int firstBatch = (int)(g % _stepsPerEpoch) * _options.GradAccumulation;
            double lr = _schedule.At(g, TotalSteps);
            var batches = _train.Batches(epoch, firstBatch).Take(_options.GradAccumulation).ToList();
            var (trainLoss, tokens) = _trainingStep.Run(batches, lr, StepSeed(g));
            if (!double.IsFinite(trainLoss))
            {
                Log?.Invoke($"the training loss became {trainLoss} at step {g + 1}; stopped without updating the weights. Last good checkpoint: {LastGoodCheckpoint()}");
                return TrainingOutcome.LossNotFinite;
            }
            _tokensSeen += tokens;
            _step++;

            var entry = Entry(epoch + 1, lr, Elapsed());
            entry["train_loss"] = Math.Round(trainLoss, 6);
            bool last = _step == TotalSteps;
            if (_step % _options.EvalEvery == 0 || last)
            {
                Evaluate(entry);
                _model.train();
            }
            metrics.Append(entry);
            if (entry["val_loss"] != null || entry["eval_train_loss"] != null) LossPlot.Save(PlotPath, metrics.Entries);

            double sessionSeconds = clock.Elapsed.TotalSeconds;
            timeLeft.Add(sessionSeconds - stepStarted);
            stepStarted = sessionSeconds;
            double tokensPerSecond = (_tokensSeen - sessionStartTokens) / Math.Max(sessionSeconds, 1e-9);
            Progress?.Invoke(new TrainingProgress(_step, TotalSteps, epoch + 1, trainLoss, tokensPerSecond,
                timeLeft.For(TotalSteps - _step), entry["val_loss"]?.GetValue<double>()));
            if (_step % _options.SaveEvery == 0 || last || stop.IsCancellationRequested)
            {
                // An update can overflow the weights while the loss before it was still finite: never save those.
                if (!WeightsAreFinite())
                {
                    Log?.Invoke($"the weights became NaN or infinite at step {_step} (learning rate too high?); stopped without saving. Last good checkpoint: {LastGoodCheckpoint()}");
                    return TrainingOutcome.LossNotFinite;
                }
                SaveCheckpoint(Elapsed());
            }

            if (stop.IsCancellationRequested) return TrainingOutcome.Interrupted;
        }
        return TrainingOutcome.Completed;
    }

    /// <summary>Pretraining's batch loss: next-token cross-entropy over every position of the windows.</summary>
    public static (Tensor Loss, long Count) NextTokenLoss(ILanguageModel model, TokenBatch batch) =>
        (Loss.CalcLossBatch(model, batch.InputTensor(model.Device), batch.TargetTensor(model.Device)), batch.Inputs.Length);

    string LastGoodCheckpoint() => Checkpoint.Latest(_runDir) is string c ? Path.GetFileName(c) : "none (the run had not saved one yet)";

    bool WeightsAreFinite()
    {
        using var scope = NewDisposeScope();
        return _model.parameters().All(p => p.isfinite().all().item<bool>());
    }

    JsonObject Entry(int epoch, double lr, double elapsed) => new()
    {
        ["step"] = _step,
        ["epoch"] = epoch,
        ["tokens_seen"] = _tokensSeen,
        ["lr"] = lr,
        ["elapsed_s"] = Math.Round(elapsed, 3),
    };

    /// <summary>The book's <c>evaluate_model</c> and <c>generate_and_print_sample</c>, recorded in <paramref name="entry"/>.</summary>
    void Evaluate(JsonObject entry)
    {
        _model.eval();
        double trainEstimate = Loss.CalcLossLoader(_model, _train, _options.EvalBatches, _model.Device);
        entry["eval_train_loss"] = Math.Round(trainEstimate, 6);
        string report = $"step {_step}: train loss {trainEstimate:F3}";
        if (_val != null)
        {
            double valLoss = Loss.CalcLossLoader(_model, _val, _options.EvalBatches, _model.Device);
            entry["val_loss"] = Math.Round(valLoss, 6);
            report += $", val loss {valLoss:F3}";
        }
        Log?.Invoke(report);
        if (_options.SampleTokens > 0 && _options.SamplePrompt.Length > 0)
        {
            int[] prompt = _tokenizer.Encode(_options.SamplePrompt);
            int[] ids;
            try
            {
                ids = TextGenerator.Generate(_model, prompt, new GenerationOptions { MaxNewTokens = _options.SampleTokens }).ToArray();
            }
            catch (NonFiniteLogitsException)
            {
                // The weights went bad: no sample; the step's checks stop the run before anything is saved.
                Log?.Invoke($"step {_step}: no sample, the model's logits are not finite");
                return;
            }
            // One block per sample, its newlines kept: a header line, the text, a blank line.
            string text = _tokenizer.Decode([.. prompt, .. ids]);
            File.AppendAllText(SamplesPath, $"[step {_step}]\n{text}\n\n");
        }
    }

    void SaveCheckpoint(double elapsed)
    {
        var state = new JsonObject
        {
            ["step"] = _step,
            ["total_steps"] = TotalSteps,
            ["optimizer_steps"] = _optimizer.StepCount,
            ["tokens_seen"] = _tokensSeen,
            ["elapsed_s"] = elapsed,
            ["train_tokens"] = _data.TrainIds.Length,
            ["val_tokens"] = _data.ValIds.Length,
            ["options"] = JsonSerializer.SerializeToNode(_options, TrainerOptions.Json),
        };
        string directory = Path.Combine(Checkpoint.CheckpointsDir(_runDir), Checkpoint.StepName(_step));
        Checkpoint.Save(directory, _model, _tokenizer as Gpt2Tokenizer is { } t && _tokenizerSpec != "gpt2" ? t : null, _optimizer.StateTensors(), state);
        Checkpoint.MarkLatest(_runDir, directory);
        Checkpoint.Prune(_runDir, _options.KeepCheckpoints);
        Log?.Invoke($"saved checkpoint {Path.GetFileName(directory)}");
    }

    long StepSeed(long step) => (long)(new SplitMix64((ulong)_options.Seed, (ulong)step + 1).Next() >> 1);

    /// <summary>Drops the samples of steps after <paramref name="step"/> (a resumed run writes them again).</summary>
    void TruncateSamples(long step)
    {
        if (!File.Exists(SamplesPath)) return;
        var kept = new List<string>();
        bool keeping = true;
        foreach (var line in File.ReadLines(SamplesPath))
        {
            // Each block starts with "[step N]"; the lines up to the next header belong to it.
            var header = SampleHeader().Match(line);
            if (header.Success) keeping = long.TryParse(header.Groups[1].Value, out long s) && s <= step;
            if (keeping) kept.Add(line);
        }
        AtomicFile.WriteAllLines(SamplesPath, kept);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\[step ([0-9]+)\]")]
    private static partial System.Text.RegularExpressions.Regex SampleHeader();

    public void Dispose()
    {
        _mixed?.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
        _lock?.Dispose();
    }
}
