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
public sealed record TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double TokensPerSecond, TimeSpan Remaining, double? ValLoss);

/// <summary>
/// The book's <c>train_model_simple</c> (chapter 5) with appendix D's additions: for each optimiser step,
/// the batches' loss, backpropagation (accumulated over <c>GradAccumulation</c> batches), optional
/// clipping, and an AdamW update at the scheduled learning rate; evaluations, sample text, metrics, a
/// loss plot and checkpoints along the way. Dropout is seeded from (seed, step), and the data order
/// from (seed, epoch), so a resumed run continues exactly as the uninterrupted one would have.
/// </summary>
public sealed class Trainer : IDisposable
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
        _optimizer = AdamW.For(model, options.Lr, options.WeightDecay);
        if (options.Precision == "bf16") _mixed = new MixedPrecision(model);
    }

    public long TotalSteps { get; }

    public long Step => _step;

    public GptModel Model => _model;

    /// <summary>Called after every optimiser step.</summary>
    public Action<TrainingProgress>? Progress { get; set; }

    /// <summary>Called with one-line notes (evaluations, checkpoints).</summary>
    public Action<string>? Log { get; set; }

    public string MetricsPath => Path.Combine(_runDir, "metrics.jsonl");
    public string PlotPath => Path.Combine(_runDir, "loss.png");
    public string SamplesPath => Path.Combine(_runDir, "samples.txt");

    // ---- starting and resuming -------------------------------------------------------------------

    /// <summary>Sets up a new run in <paramref name="runDir"/>; an existing run there needs <paramref name="overwrite"/>.</summary>
    public static Trainer Start(TrainerOptions options, string runDir, bool overwrite)
    {
        options.Validated();
        if (File.Exists(runDir)) throw new BadInputException($"{runDir}: is a file; --out needs a directory");
        if (Directory.Exists(runDir) && Directory.EnumerateFileSystemEntries(runDir).Any())
        {
            if (!overwrite) throw new BadInputException($"{runDir}: already holds a run; use --resume {runDir} to continue it, another --out, or --overwrite to start over");
            Directory.Delete(runDir, recursive: true);
        }
        var (tokenizer, tokenizerSpec) = LoadTokenizer(options.Tokenizer);
        var data = PretrainingData.Load(options.Data, tokenizer, options.ValFraction);
        manual_seed(options.Seed);
        var model = CreateModel(options, tokenizer);
        try
        {
            Directory.CreateDirectory(runDir);
            var trainer = new Trainer(options, runDir, model, tokenizer, tokenizerSpec, data);
            File.WriteAllText(Path.Combine(runDir, "options.json"), JsonSerializer.Serialize(options, TrainerOptions.Json));
            return trainer;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Continues the run in <paramref name="runDir"/> from its newest checkpoint.</summary>
    public static Trainer Resume(string runDir)
    {
        if (!Directory.Exists(runDir)) throw new BadInputException($"{runDir}: no such run directory");
        string checkpoint = Checkpoint.Latest(runDir) ?? throw new BadInputException($"{runDir}: the run has no checkpoint to resume from");
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
        long Field(string name) => state[name] is JsonValue value && value.TryGetValue(out long number) ? number
            : throw new BadInputException($"{statePath}: no integer '{name}'");

        var (tokenizer, tokenizerSpec) = LoadTokenizer(options.Tokenizer);
        var data = PretrainingData.Load(options.Data, tokenizer, options.ValFraction);
        if (data.TrainIds.Length != Field("train_tokens") || data.ValIds.Length != Field("val_tokens"))
            throw new BadInputException($"{options.Data}: the data changed since the run started ({data.TrainIds.Length} training tokens now, {Field("train_tokens")} then)");
        var model = ModelLoader.Load(checkpoint).Model;
        Trainer? trainer = null;
        try
        {
            if (options.Dropout is double rate && rate != model.Config.DropRate)
                throw new BadInputException($"{checkpoint}: its config has drop_rate {model.Config.DropRate}, the run's options {rate}");
            trainer = new Trainer(options, runDir, model, tokenizer, tokenizerSpec, data);
            if (trainer.TotalSteps != Field("total_steps"))
                throw new BadInputException($"{checkpoint}: the run had {Field("total_steps")} steps in all, its options now give {trainer.TotalSteps}");
            using (var optimizerState = SafeTensorsFile.Open(Path.Combine(checkpoint, "optimizer.safetensors")))
            {
                // The optimizer takes its own references to the moments; the handles read here are released after.
                var read = new List<Tensor>();
                trainer._optimizer.LoadState(name =>
                {
                    if (!optimizerState.Names.Contains(name)) return null;
                    read.Add(optimizerState.Read(name));
                    return read[^1];
                }, Field("optimizer_steps"), checkpoint);
                read.ForEach(t => t.Dispose());
            }
            trainer._step = Field("step");
            trainer._tokensSeen = Field("tokens_seen");
            trainer._elapsedBefore = state["elapsed_s"] is JsonValue elapsed && elapsed.TryGetValue(out double seconds) ? seconds : 0;
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
        if (model.Config.VocabSize < tokenizer.VocabSize)
        {
            model.Dispose();
            throw new BadInputException($"the model's vocabulary ({model.Config.VocabSize}) is smaller than the tokenizer's ({tokenizer.VocabSize})");
        }
        return model;
    }

    // ---- the loop -------------------------------------------------------------------------------

    public TrainingOutcome Run(CancellationToken stop = default)
    {
        using var metrics = new MetricsLog(MetricsPath, _step);
        TruncateSamples(_step);
        var clock = Stopwatch.StartNew();
        long sessionStartStep = _step;
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

        _model.train();
        while (_step < TotalSteps)
        {
            long g = _step; // this step's index, from 0
            int epoch = (int)(g / _stepsPerEpoch);
            int firstBatch = (int)(g % _stepsPerEpoch) * _options.GradAccumulation;
            double lr = _schedule.At(g, TotalSteps);
            _optimizer.LearningRate = lr;
            manual_seed(StepSeed(g));

            double lossSum = 0;
            _optimizer.ZeroGrad();
            _mixed?.CopyWeights();
            var forwardModel = _mixed?.Compute ?? _model;
            foreach (var batch in _train.Batches(epoch, firstBatch).Take(_options.GradAccumulation))
            {
                using var scope = NewDisposeScope();
                var loss = Loss.CalcLossBatch(forwardModel, batch.InputTensor(), batch.TargetTensor());
                (loss / _options.GradAccumulation).backward();
                _mixed?.AccumulateGradients();
                lossSum += loss.item<float>();
                _tokensSeen += batch.Inputs.Length;
            }
            double trainLoss = lossSum / _options.GradAccumulation;
            if (!double.IsFinite(trainLoss))
            {
                Log?.Invoke($"the training loss became {trainLoss} at step {g + 1}; stopped without updating the weights. Last good checkpoint: {LastGoodCheckpoint()}");
                return TrainingOutcome.LossNotFinite;
            }
            if (_options.GradClip is double maxNorm) GradientClipping.ClipGradNorm(_model.parameters(), maxNorm);
            _optimizer.Step();
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
            double tokensPerSecond = (_tokensSeen - sessionStartTokens) / Math.Max(sessionSeconds, 1e-9);
            double secondsPerStep = sessionSeconds / (_step - sessionStartStep);
            Progress?.Invoke(new TrainingProgress(_step, TotalSteps, epoch + 1, trainLoss, tokensPerSecond,
                TimeSpan.FromSeconds(secondsPerStep * (TotalSteps - _step)), entry["val_loss"]?.GetValue<double>()));
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
        double trainEstimate = Loss.CalcLossLoader(_model, _train, _options.EvalBatches);
        entry["eval_train_loss"] = Math.Round(trainEstimate, 6);
        string report = $"step {_step}: train loss {trainEstimate:F3}";
        if (_val != null)
        {
            double valLoss = Loss.CalcLossLoader(_model, _val, _options.EvalBatches);
            entry["val_loss"] = Math.Round(valLoss, 6);
            report += $", val loss {valLoss:F3}";
        }
        Log?.Invoke(report);
        if (_options.SampleTokens > 0 && _options.SamplePrompt.Length > 0)
        {
            int[] prompt = _tokenizer.Encode(_options.SamplePrompt);
            var ids = TextGenerator.Generate(_model, prompt, new GenerationOptions { MaxNewTokens = _options.SampleTokens }).ToArray();
            // One line per sample, newlines shown as spaces, as the book prints them.
            string text = _tokenizer.Decode([.. prompt, .. ids]).Replace('\n', ' ');
            File.AppendAllText(SamplesPath, $"[step {_step}] {text}\n");
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
        Checkpoint.Save(directory, _model, _tokenizer as Gpt2Tokenizer is { } t && _tokenizerSpec != "gpt2" ? t : null, _optimizer, state);
        Checkpoint.MarkLatest(_runDir, directory);
        Checkpoint.Prune(_runDir, _options.KeepCheckpoints);
        Log?.Invoke($"saved checkpoint {Path.GetFileName(directory)}");
    }

    long StepSeed(long step) => (long)(new SplitMix64((ulong)_options.Seed, (ulong)step + 1).Next() >> 1);

    void TruncateSamples(long step)
    {
        if (!File.Exists(SamplesPath)) return;
        var kept = File.ReadAllLines(SamplesPath).Where(line =>
            line.StartsWith("[step ") && long.TryParse(line[6..line.IndexOf(']')], out long s) && s <= step);
        AtomicFile.WriteAllLines(SamplesPath, kept);
    }

    public void Dispose()
    {
        _mixed?.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }
}
