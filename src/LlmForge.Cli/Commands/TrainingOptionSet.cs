using System.Globalization;

namespace LlmForge.Cli.Commands;

/// <summary>
/// The command-line options every training command shares (<c>pretrain</c>, <c>finetune ...</c>),
/// declared once. Defaults come from the trainer's options record (<paramref name="defaults"/>, where
/// each trainer sets the book's values for its chapter), and the help text states them from there.
/// </summary>
sealed class TrainingOptionSet(TrainingOptions defaults, string initDescription)
{
    static string Show(double value) => value.ToString("G", CultureInfo.InvariantCulture).Replace("E-0", "e-").Replace("E-", "e-");

    public readonly Option<int> BatchSize = new("--batch-size") { Description = $"examples per batch (default {defaults.BatchSize})", DefaultValueFactory = _ => defaults.BatchSize };
    public readonly Option<bool> NoShuffle = new("--no-shuffle") { Description = "keep the training data in file order" };
    public readonly Option<string> Preset = new("--preset") { Description = $"random weights of a size: gpt2-small (the default), gpt2-medium, gpt2-large, gpt2-xl, {string.Join(", ", LlamaConfig.Presets.Keys)}" };
    public readonly Option<string> Config = new("--config") { Description = $"a model config JSON (random weights); with {defaults.InitOption}, the config of those weights" };
    public readonly Option<string> Init = new(defaults.InitOption) { Description = initDescription };
    public readonly Option<double?> Dropout = new("--dropout") { Description = "dropout rate, overriding the config's" };
    public readonly Option<string> DType = ModelOptions.TrainingDType();
    public readonly Option<string> Device = ModelOptions.Device();
    public readonly Option<double> Lr = new("--lr") { Description = $"peak learning rate (default {Show(defaults.Lr)})", DefaultValueFactory = _ => defaults.Lr };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = $"AdamW weight decay, on every trained parameter (default {Show(defaults.WeightDecay)})", DefaultValueFactory = _ => defaults.WeightDecay };
    public readonly Option<int> Warmup = new("--warmup-steps") { Description = "linear warmup from --initial-lr to --lr over this many steps", DefaultValueFactory = _ => defaults.WarmupSteps };
    public readonly Option<double?> InitialLr = new("--initial-lr") { Description = "learning rate at step 0 of the warmup (default 0)" };
    public readonly Option<double?> MinLr = new("--min-lr") { Description = "cosine decay after warmup ends at this rate" };
    public readonly Option<double?> GradClip = new("--grad-clip") { Description = "clip gradients to this global L2 norm" };
    public readonly Option<int> Accumulation = new("--grad-accumulation") { Description = $"batches per optimiser step (default {defaults.GradAccumulation})", DefaultValueFactory = _ => defaults.GradAccumulation };
    public readonly Option<int?> Epochs = new("--epochs") { Description = $"passes over the training data (default {defaults.DefaultEpochs})" };
    public readonly Option<long?> MaxSteps = new("--max-steps") { Description = "optimiser steps in all (instead of --epochs)" };
    public readonly Option<int> EvalEvery = new("--eval-every") { Description = $"evaluate every N steps (default {defaults.EvalEvery}; always at the end)", DefaultValueFactory = _ => defaults.EvalEvery };
    public readonly Option<int> EvalBatches = new("--eval-batches") { Description = $"batches of each split per evaluation (default {defaults.EvalBatches})", DefaultValueFactory = _ => defaults.EvalBatches };
    public readonly Option<int> SaveEvery = new("--save-every") { Description = $"save a checkpoint every N steps (default {defaults.SaveEvery}; always at the end)", DefaultValueFactory = _ => defaults.SaveEvery };
    public readonly Option<int> Keep = new("--keep-checkpoints") { Description = $"checkpoints kept (default {defaults.KeepCheckpoints})", DefaultValueFactory = _ => defaults.KeepCheckpoints };
    public readonly Option<long> Seed = new("--seed") { Description = $"fixes initialisation, data order, dropout (default {defaults.Seed})", DefaultValueFactory = _ => defaults.Seed };
    public readonly Option<string> Out = new("--out") { Description = "the run directory (options.json, metrics.jsonl, plots, checkpoints/)" };
    public readonly Option<bool> Overwrite = new("--overwrite") { Description = "replace a run already in --out" };

    /// <summary>Every option above, in help order: those <c>--resume</c> refuses (a run keeps its own).</summary>
    public Option[] All =>
    [
        BatchSize, NoShuffle, Preset, Config, Init, Dropout, DType, Device, Lr, WeightDecay, Warmup, InitialLr, MinLr, GradClip,
        Accumulation, Epochs, MaxSteps, EvalEvery, EvalBatches, SaveEvery, Keep, Seed, Out, Overwrite,
    ];

    /// <summary><paramref name="start"/> (a trainer's own options, its own fields filled in) with the shared options as given.</summary>
    public T Read<T>(ParseResult parse, T start) where T : TrainingOptions => (T)(start with
    {
        BatchSize = parse.GetValue(BatchSize),
        Shuffle = !parse.GetValue(NoShuffle),
        Preset = parse.GetValue(Preset),
        ConfigPath = parse.GetValue(Config),
        Init = parse.GetValue(Init),
        Dropout = parse.GetValue(Dropout),
        Precision = ModelOptions.ParseTrainingPrecision(parse.GetValue(DType)),
        Device = LlmForge.ComputeDevice.Resolve(parse.GetValue(Device)),
        Lr = parse.GetValue(Lr),
        WeightDecay = parse.GetValue(WeightDecay),
        WarmupSteps = parse.GetValue(Warmup),
        InitialLr = parse.GetValue(InitialLr),
        MinLr = parse.GetValue(MinLr),
        GradClip = parse.GetValue(GradClip),
        GradAccumulation = parse.GetValue(Accumulation),
        Epochs = parse.GetValue(Epochs),
        MaxSteps = parse.GetValue(MaxSteps),
        EvalEvery = parse.GetValue(EvalEvery),
        EvalBatches = parse.GetValue(EvalBatches),
        SaveEvery = parse.GetValue(SaveEvery),
        KeepCheckpoints = parse.GetValue(Keep),
        Seed = parse.GetValue(Seed),
    });

    public readonly Option<string> Resume = new("--resume") { Description = "continue the run in this directory from its newest checkpoint, with its own options" };

    /// <summary>
    /// The run a training command works on: the one in <c>--resume</c> (which keeps its own options, so
    /// none of <paramref name="runOptions"/> may be given), or a new one started in <c>--out</c>.
    /// </summary>
    public TRun StartOrResume<TRun>(ParseResult parse, IEnumerable<Option> runOptions, Func<string, TRun> resume, Func<string, bool, TRun> start, string needs = "--out")
    {
        if (parse.GetValue(Resume) is string runDir)
        {
            RefuseWithResume(parse, runOptions);
            return resume(runDir);
        }
        string output = parse.GetValue(Out) ?? throw new BadInputException($"give {needs} for a new run, or --resume RUN");
        return start(output, parse.GetValue(Overwrite));
    }

    /// <summary>With <c>--resume</c>: the run's own options only; any of these given is refused by name.</summary>
    public static void RefuseWithResume(ParseResult parse, IEnumerable<Option> runOptions)
    {
        var given = runOptions.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
        if (given.Count > 0)
            throw new BadInputException($"--resume continues with the run's own options; remove {string.Join(", ", given)}");
    }
}
