using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmForge.Training;

/// <summary>
/// Everything that decides a pretraining run. Saved in every checkpoint's trainer state, so that
/// <c>--resume</c> continues with exactly the settings the run started with.
/// </summary>
public sealed record TrainerOptions
{
    // Data
    public required string Data { get; init; }
    public double ValFraction { get; init; } = 0.1;
    public int? ContextLength { get; init; }
    public int? Stride { get; init; }
    public int BatchSize { get; init; } = 2;
    public bool Shuffle { get; init; } = true;
    public string Tokenizer { get; init; } = "gpt2";

    // Model: a preset, a config file, or existing weights (with their config).
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
    public string SamplePrompt { get; init; } = "Every effort moves you";
    public int SampleTokens { get; init; } = 50;
    public int SaveEvery { get; init; } = 500;
    public int KeepCheckpoints { get; init; } = 2;
    public long Seed { get; init; } = 123;

    /// <summary>Throws <see cref="BadInputException"/> for the first impossible setting.</summary>
    public TrainerOptions Validated()
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new BadInputException(message);
        }
        int models = (Preset != null ? 1 : 0) + (Init != null ? 1 : 0) + (ConfigPath != null && Init == null ? 1 : 0);
        Require(models <= 1, "give one of --preset, --config and --init (with --init, --config describes the weights)");
        Require(!(Epochs != null && MaxSteps != null), "give --epochs or --max-steps, not both");
        Require(Epochs is null or >= 1, $"--epochs must be at least 1, got {Epochs}");
        Require(MaxSteps is null or >= 1, $"--max-steps must be at least 1, got {MaxSteps}");
        Require(ContextLength is null or >= 1, $"--context-length must be at least 1, got {ContextLength}");
        Require(Stride is null or >= 1, $"--stride must be at least 1, got {Stride}");
        Require(BatchSize >= 1, $"--batch-size must be at least 1, got {BatchSize}");
        Require(GradAccumulation >= 1, $"--grad-accumulation must be at least 1, got {GradAccumulation}");
        foreach (var (option, value) in new (string, double?)[] { ("--lr", Lr), ("--weight-decay", WeightDecay), ("--initial-lr", InitialLr), ("--min-lr", MinLr), ("--grad-clip", GradClip), ("--dropout", Dropout), ("--val-fraction", ValFraction) })
            Require(value is null || double.IsFinite(value.Value), $"{option} must be a finite number, got {value}");
        Require(Lr > 0, $"--lr must be above 0, got {Lr}");
        Require(WeightDecay >= 0, $"--weight-decay must be at least 0, got {WeightDecay}");
        Require(WarmupSteps >= 0, $"--warmup-steps must be at least 0, got {WarmupSteps}");
        Require(InitialLr is null or >= 0, $"--initial-lr must be at least 0, got {InitialLr}");
        Require(MinLr is null or >= 0, $"--min-lr must be at least 0, got {MinLr}");
        Require(MinLr is null || MinLr <= Lr, $"--min-lr {MinLr} is above --lr {Lr}");
        Require(GradClip is null or > 0, $"--grad-clip must be above 0, got {GradClip}");
        Require(Dropout is null or (>= 0 and < 1), $"--dropout must be in [0, 1), got {Dropout}");
        Require(Precision is "fp32" or "bf16", $"--dtype must be fp32 or bf16 for training, got '{Precision}'");
        Require(Device is "cpu" or "cuda", $"--device must be cpu or cuda for a run, got '{Device}'");
        Require(ValFraction is >= 0 and < 1, $"--val-fraction must be in [0, 1), got {ValFraction}");
        Require(EvalEvery >= 1, $"--eval-every must be at least 1, got {EvalEvery}");
        Require(EvalBatches >= 1, $"--eval-batches must be at least 1, got {EvalBatches}");
        Require(SaveEvery >= 1, $"--save-every must be at least 1, got {SaveEvery}");
        Require(KeepCheckpoints >= 1, $"--keep-checkpoints must be at least 1, got {KeepCheckpoints}");
        Require(SampleTokens >= 0, $"--sample-tokens must be at least 0, got {SampleTokens}");
        return this;
    }

    /// <summary>
    /// The same options with the data, tokenizer, config and initial weights as absolute paths, so that
    /// <c>--resume</c> finds them from any working directory. Names that are not paths (gpt2, gpt2-124M) stay.
    /// </summary>
    public TrainerOptions WithAbsolutePaths()
    {
        static string? Absolute(string? path) => path != null && (File.Exists(path) || Directory.Exists(path)) ? Path.GetFullPath(path) : path;
        return this with
        {
            Data = Absolute(Data)!,
            Tokenizer = Tokenizer is "gpt2" or "simple" ? Tokenizer : Absolute(Tokenizer)!,
            ConfigPath = Absolute(ConfigPath),
            Init = Absolute(Init),
        };
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}
