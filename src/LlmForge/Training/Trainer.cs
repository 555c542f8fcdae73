using System.Diagnostics;
using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// The book's <c>train_model_simple</c> (chapter 5) with appendix D's additions, for any kind of
/// batch: for each optimiser step, the shared <see cref="TrainingStep{TBatch}"/> (loss, backpropagation
/// accumulated over <c>GradAccumulation</c> batches, optional clipping, AdamW at the scheduled rate);
/// evaluations, metrics, plots and checkpoints along the way. What the batches are, how one is
/// scored and how the model is judged come in (<see cref="IBatchSource{TBatch}"/>,
/// <see cref="BatchLoss{TBatch}"/>, <see cref="IEvaluator"/>). Dropout is seeded from (seed, step),
/// and the data order from (seed, epoch), so a resumed run continues exactly as the uninterrupted
/// one would have. Runs start and resume through <see cref="TrainingRun"/>.
/// </summary>
public sealed class Trainer<TBatch> : ITrainer
{
    readonly TrainingOptions _options;
    readonly string _runDir;
    readonly ILanguageModel _model;
    readonly ITokenizer _tokenizer;
    readonly IBatchSource<TBatch> _train;
    readonly IEvaluator _evaluator;
    readonly JsonObject _facts;
    readonly AdamW _optimizer;
    readonly MixedPrecision? _mixed; // bf16 compute copy of the model, when asked for
    readonly LearningRateSchedule _schedule;
    readonly int _stepsPerEpoch;
    readonly TrainingStep<TBatch> _trainingStep;

    readonly IDisposable? _owned;

    RunLock? _lock;        // held while this trainer may write the run
    long _step;            // optimiser steps done
    long _tokensSeen;      // what the batch losses counted: tokens, or examples
    double _elapsedBefore; // seconds spent in earlier sessions of this run

    /// <param name="tokenizer">saved in each checkpoint (unless it is GPT-2's), so the checkpoint stands alone.</param>
    /// <param name="facts">what the data was when the run started (token counts, example counts), saved in each
    /// checkpoint; a resumed run must find the same.</param>
    /// <param name="owned">disposed with the trainer: what its loss or evaluator holds besides the model (DPO's reference).</param>
    public Trainer(TrainingOptions options, string runDir, ILanguageModel model, ITokenizer tokenizer,
        IBatchSource<TBatch> train, BatchLoss<TBatch> loss, IEvaluator evaluator, JsonObject facts, IDisposable? owned = null)
    {
        _owned = owned;
        _options = options;
        _runDir = runDir;
        _model = model;
        _tokenizer = tokenizer;
        _train = train;
        _evaluator = evaluator;
        _facts = facts;
        _stepsPerEpoch = train.Count / options.GradAccumulation;
        if (_stepsPerEpoch == 0)
            throw new BadInputException($"{train.Count} training batches make no full step of {options.GradAccumulation} batches; lower --batch-size or --grad-accumulation");
        TotalSteps = options.MaxSteps ?? (long)(options.Epochs ?? options.DefaultEpochs) * _stepsPerEpoch;
        _schedule = new LearningRateSchedule(options.Lr, options.WarmupSteps, options.InitialLr, options.MinLr);
        // The run's device: resolved again (a cuda run resumed on a CPU-only build is refused), then every tensor follows the model.
        ComputeDevice.MoveTo(model, ComputeDevice.Resolve(options.Device));
        _optimizer = AdamW.For(model, options.Lr, options.WeightDecay);
        if (options.Precision == "bf16") _mixed = new MixedPrecision(model);
        _trainingStep = new TrainingStep<TBatch>(model, _optimizer, loss, _mixed, options.GradClip);
    }

    public long TotalSteps { get; }

    public long Step => _step;

    public ILanguageModel Model => _model;

    /// <summary>The tokenizer the run's data was encoded with (saved in checkpoints unless it is GPT-2's).</summary>
    public ITokenizer Tokenizer => _tokenizer;

    public TrainingOptions Options => _options;

    public long TrainableParameters => _optimizer.TrainableCount;

    public int StepsPerEpoch => _stepsPerEpoch;

    public string? Notice { get; internal set; }

    public Action<TrainingProgress>? Progress { get; set; }

    public Action<string>? Log { get; set; }

    public string RunDirectory => _runDir;

    public string MetricsPath => Path.Combine(_runDir, RunFiles.Metrics);

    public string PlotPath => Path.Combine(_runDir, RunFiles.Plot);

    /// <summary>The run's lock, taken by <see cref="TrainingRun"/> once the trainer is built.</summary>
    internal RunLock? Lock
    {
        get => _lock;
        set => _lock = value;
    }

    internal JsonObject Facts => _facts;

    /// <summary>Continues from a checkpoint's counters and optimiser state (<see cref="TrainingRun.Resume{TOptions, TBatch}"/>).</summary>
    internal void Restore(long step, long tokensSeen, double elapsedBefore, Func<string, Tensor?> readOptimizerState, string source)
    {
        _optimizer.LoadState(readOptimizerState, step, source);
        _step = step;
        _tokensSeen = tokensSeen;
        _elapsedBefore = elapsedBefore;
    }

    // ---- the loop -------------------------------------------------------------------------------

    public TrainingOutcome Run(CancellationToken stop = default)
    {
        using var metrics = new MetricsLog(MetricsPath, _step);
        _evaluator.ContinueFrom(_step);
        var clock = Stopwatch.StartNew();
        var timeLeft = new TimeLeftEstimate();
        double stepStarted = 0;
        long sessionStartTokens = _tokensSeen;
        double Elapsed() => _elapsedBefore + clock.Elapsed.TotalSeconds;

        if (_step == 0 && metrics.Entries.Count == 0)
        {
            // The book's baseline: the losses before any training (about 10.98 for GPT-2 on the verdict).
            var baseline = Entry(0, _schedule.At(0, TotalSteps), Elapsed());
            Evaluate(baseline);
            metrics.Append(baseline);
            _evaluator.Plot(metrics.Entries);
        }

        stepStarted = clock.Elapsed.TotalSeconds;
        _model.Module.train();
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
            _evaluator.AfterStep(entry);
            bool last = _step == TotalSteps;
            bool evaluated = _step % _options.EvalEvery == 0 || last || (_options.EvaluateEachEpoch && _step % _stepsPerEpoch == 0);
            if (evaluated)
            {
                Evaluate(entry);
                _model.Module.train();
            }
            metrics.Append(entry);
            if (evaluated) _evaluator.Plot(metrics.Entries);

            double sessionSeconds = clock.Elapsed.TotalSeconds;
            timeLeft.Add(sessionSeconds - stepStarted);
            stepStarted = sessionSeconds;
            double tokensPerSecond = (_tokensSeen - sessionStartTokens) / Math.Max(sessionSeconds, 1e-9);
            Progress?.Invoke(new TrainingProgress(_step, TotalSteps, epoch + 1, trainLoss, tokensPerSecond,
                timeLeft.For(TotalSteps - _step), entry["val_loss"]?.GetValue<double>(), _evaluator.SeenKey.Replace("_seen", "")));
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
        return _model.Module.parameters().All(p => p.isfinite().all().item<bool>());
    }

    JsonObject Entry(int epoch, double lr, double elapsed) => new()
    {
        ["step"] = _step,
        ["epoch"] = epoch,
        [_evaluator.SeenKey] = _tokensSeen,
        ["lr"] = lr,
        ["elapsed_s"] = Math.Round(elapsed, 3),
    };

    void Evaluate(JsonObject entry)
    {
        _model.Module.eval();
        string report = _evaluator.Evaluate(_model, _step, entry); // not inside Log?.Invoke(...): that would skip it without a log
        Log?.Invoke(report);
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
        };
        foreach (var (key, value) in _facts) state[key] = value?.DeepClone();
        state["options"] = _options.ToJson();
        string directory = Path.Combine(Checkpoint.CheckpointsDir(_runDir), Checkpoint.StepName(_step));
        Checkpoint.Save(directory, _model, TokenizerLoader.ToBundle(_tokenizer), _optimizer.StateTensors(), state);
        Checkpoint.MarkLatest(_runDir, directory);
        Checkpoint.Prune(_runDir, _options.KeepCheckpoints);
        Log?.Invoke($"saved checkpoint {Path.GetFileName(directory)}");
    }

    long StepSeed(long step) => (long)(new SplitMix64((ulong)_options.Seed, (ulong)step + 1).Next() >> 1);

    public void Dispose()
    {
        _mixed?.Dispose();
        _optimizer.Dispose();
        _model.Module.Dispose();
        _owned?.Dispose();
        _lock?.Dispose();
    }
}
