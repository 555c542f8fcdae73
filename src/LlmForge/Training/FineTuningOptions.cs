using System.Text.Json.Serialization;

namespace LlmForge.Training;

/// <summary>
/// What the fine-tuning trainers (classification, instruction tuning, DPO) share besides the training
/// settings: the model to start from is <c>--model</c>; the data is one <c>--data</c> file that the
/// trainer splits, or given <c>--train</c> / <c>--validation</c> / <c>--test</c> sets; rows are cut to
/// <c>--max-length</c>; random weights read <c>--tokenizer</c>; LoRA adapters where the trainer takes them.
/// </summary>
public abstract record FineTuningOptions : TrainingOptions
{
    /// <summary>A trainer's own defaults (the book's for its chapter), set once here by each derived record.</summary>
    protected FineTuningOptions(int batchSize, double lr, double weightDecay, int evalEvery, int evalBatches)
    {
        BatchSize = batchSize;
        Lr = lr;
        WeightDecay = weightDecay;
        EvalEvery = evalEvery;
        EvalBatches = evalBatches;
    }

    public string? Data { get; init; }
    public string? Train { get; init; }
    public string? Validation { get; init; }
    public string? Test { get; init; }

    /// <summary>Ids per row at most (default: the trainer's own rule, within the model's context).</summary>
    public int? MaxLength { get; init; }

    /// <summary>The tokenizer of random weights (<c>--preset</c>, <c>--config</c>); loaded weights bring theirs.</summary>
    public string Tokenizer { get; init; } = "gpt2";

    public int? LoraRank { get; init; }
    public double? LoraAlpha { get; init; }

    [JsonIgnore]
    public override string InitOption => "--model";

    /// <summary>Whether given sets must be all three (a classifier reports on each) or <c>--train</c> may come alone.</summary>
    [JsonIgnore]
    protected virtual bool NeedsEverySet => false;

    /// <summary>How the trainer splits one <c>--data</c> file, for messages: <c>70/10/20</c> or <c>85/10/5</c>.</summary>
    [JsonIgnore]
    protected abstract string SplitName { get; }

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        bool files = Train != null || Validation != null || Test != null;
        require(Data != null || files, NeedsEverySet
            ? $"give --data (one labelled file, split {SplitName}) or --train, --validation and --test"
            : $"give --data (one file, split {SplitName}) or --train (with --validation and --test if you have them)");
        require(!(Data != null && files), "give --data or --train/--validation/--test, not both");
        require(Train != null || !files, "give --train with --validation and --test");
        require(!NeedsEverySet || !files || Validation != null && Test != null, "give all three of --train, --validation and --test");
        require(MaxLength is null or >= 1, $"--max-length must be at least 1, got {MaxLength}");
        require(LoraRank is null or >= 1, $"--lora-rank must be at least 1, got {LoraRank}");
        require(LoraAlpha is null || LoraRank != null, "--lora-alpha needs --lora-rank");
        require(LoraAlpha is null || double.IsFinite(LoraAlpha.Value) && LoraAlpha > 0, $"--lora-alpha must be above 0, got {LoraAlpha}");
    }

    public override TrainingOptions WithAbsolutePaths() => (FineTuningOptions)base.WithAbsolutePaths() with
    {
        Data = Absolute(Data),
        Train = Absolute(Train),
        Validation = Absolute(Validation),
        Test = Absolute(Test),
        Tokenizer = Tokenizer is "gpt2" ? Tokenizer : Absolute(Tokenizer)!,
    };

    public override IEnumerable<(string Option, string? Path)> Inputs() => [.. base.Inputs(), .. DataInputs(), ("--tokenizer", Tokenizer)];

    /// <summary>The data files a run reads again when it resumes.</summary>
    public virtual IEnumerable<(string Option, string? Path)> DataInputs() =>
        [("--data", Data), ("--train", Train), ("--validation", Validation), ("--test", Test)];
}
