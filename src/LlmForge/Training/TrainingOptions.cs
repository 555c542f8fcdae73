using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmForge.Training;

/// <summary>
/// The settings every trainer shares (pretraining, fine-tuning): the model to start from, the
/// optimiser and its schedule, the run's length, evaluation and checkpoints. Each trainer's options
/// derive from it and set their own defaults (the book's for that chapter) in their constructor; the
/// command line takes its defaults and help text from those instances, so each default is written once.
/// Saved in every checkpoint, so that <c>--resume</c> continues with exactly the settings the run started with.
/// </summary>
public abstract record TrainingOptions
{
    // Batches
    public int BatchSize { get; init; } = 2;
    public bool Shuffle { get; init; } = true;

    // Model: a preset, a config file, or existing weights (with their config); see ModelChoice.
    public string? Preset { get; init; }
    public string? ConfigPath { get; init; }
    public string? Init { get; init; }
    public double? Dropout { get; init; }

    /// <summary>fp32, or bf16 mixed precision (bf16 compute, fp32 master weights and optimiser state).</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>cpu or cuda (auto is resolved when the run starts, so a resumed run keeps its device).</summary>
    public string Device { get; init; } = "cpu";

    // Optimiser and schedule
    public double Lr { get; init; } = 4e-4;
    public double WeightDecay { get; init; } = 0.1;
    public int WarmupSteps { get; init; }
    public double? InitialLr { get; init; }
    public double? MinLr { get; init; }
    public double? GradClip { get; init; }
    public int GradAccumulation { get; init; } = 1;

    // Length, evaluation, saving
    public int? Epochs { get; init; }
    public long? MaxSteps { get; init; }
    public int EvalEvery { get; init; } = 5;
    public int EvalBatches { get; init; } = 5;
    public int SaveEvery { get; init; } = 500;
    public int KeepCheckpoints { get; init; } = 2;
    public long Seed { get; init; } = 123;

    /// <summary>The command-line name of <see cref="Init"/>: <c>--init</c> for pretraining, <c>--model</c> for fine-tuning.</summary>
    [JsonIgnore]
    public virtual string InitOption => "--init";

    /// <summary>Whether the trainer also evaluates at the end of every epoch (the book's classifier reports accuracy per epoch).</summary>
    [JsonIgnore]
    public virtual bool EvaluateEachEpoch => false;

    /// <summary>Epochs when neither <see cref="Epochs"/> nor <see cref="MaxSteps"/> is given.</summary>
    [JsonIgnore]
    public virtual int DefaultEpochs => 1;

    /// <summary>Throws <see cref="BadInputException"/> for the first impossible setting.</summary>
    public TrainingOptions Validated()
    {
        Validate(Require);
        return this;
    }

    protected static void Require(bool ok, string message)
    {
        if (!ok) throw new BadInputException(message);
    }

    /// <summary>Checks the shared settings; a trainer's options add theirs after calling this.</summary>
    protected virtual void Validate(Action<bool, string> require)
    {
        ModelChoice.Validate(this);
        require(!(Epochs != null && MaxSteps != null), "give --epochs or --max-steps, not both");
        require(Epochs is null or >= 1, $"--epochs must be at least 1, got {Epochs}");
        require(MaxSteps is null or >= 1, $"--max-steps must be at least 1, got {MaxSteps}");
        require(BatchSize >= 1, $"--batch-size must be at least 1, got {BatchSize}");
        require(GradAccumulation >= 1, $"--grad-accumulation must be at least 1, got {GradAccumulation}");
        foreach (var (option, value) in new (string, double?)[] { ("--lr", Lr), ("--weight-decay", WeightDecay), ("--initial-lr", InitialLr), ("--min-lr", MinLr), ("--grad-clip", GradClip), ("--dropout", Dropout) })
            require(value is null || double.IsFinite(value.Value), $"{option} must be a finite number, got {value}");
        require(Lr > 0, $"--lr must be above 0, got {Lr}");
        require(WeightDecay >= 0, $"--weight-decay must be at least 0, got {WeightDecay}");
        require(WarmupSteps >= 0, $"--warmup-steps must be at least 0, got {WarmupSteps}");
        require(InitialLr is null or >= 0, $"--initial-lr must be at least 0, got {InitialLr}");
        require(MinLr is null or >= 0, $"--min-lr must be at least 0, got {MinLr}");
        require(MinLr is null || MinLr <= Lr, $"--min-lr {MinLr} is above --lr {Lr}");
        require(GradClip is null or > 0, $"--grad-clip must be above 0, got {GradClip}");
        require(Dropout is null or (>= 0 and < 1), $"--dropout must be in [0, 1), got {Dropout}");
        require(Precision is "fp32" or "bf16", $"--dtype must be fp32 or bf16 for training, got '{Precision}'");
        require(Device is "cpu" or "cuda", $"--device must be cpu or cuda for a run, got '{Device}'");
        require(EvalEvery >= 1, $"--eval-every must be at least 1, got {EvalEvery}");
        require(EvalBatches >= 1, $"--eval-batches must be at least 1, got {EvalBatches}");
        require(SaveEvery >= 1, $"--save-every must be at least 1, got {SaveEvery}");
        require(KeepCheckpoints >= 1, $"--keep-checkpoints must be at least 1, got {KeepCheckpoints}");
    }

    /// <summary>
    /// The same options with every input path absolute, so that <c>--resume</c> finds them from any
    /// working directory. Names that are not paths (gpt2, gpt2-124M) stay.
    /// </summary>
    public virtual TrainingOptions WithAbsolutePaths() => this with { ConfigPath = Absolute(ConfigPath), Init = Absolute(Init) };

    protected static string? Absolute(string? path) => path != null && (File.Exists(path) || Directory.Exists(path)) ? Path.GetFullPath(path) : path;

    /// <summary>The files a run reads, by option name: <c>--overwrite</c> never deletes a directory holding one.</summary>
    public virtual IEnumerable<(string Option, string? Path)> Inputs() => [(InitOption, Init), ("--config", ConfigPath)];

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>The options as JSON, with the fields of the trainer's own options.</summary>
    public System.Text.Json.Nodes.JsonNode ToJson() => JsonSerializer.SerializeToNode(this, GetType(), Json)!;
}
