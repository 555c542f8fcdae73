using System.Text.Json.Serialization;
using LlmForge.Training;

namespace LlmForge.Instruction;

/// <summary>
/// Everything that decides an instruction fine-tuning run (chapter 7): the shared training settings
/// with the book's defaults for chapter 7 (batches of 8, AdamW lr 5e-5 and weight decay 0.1, 2 epochs,
/// an evaluation every 5 steps on 5 batches), the instruction data, and what trains.
/// </summary>
public sealed record InstructionOptions : TrainingOptions
{
    public InstructionOptions()
    {
        BatchSize = 8;
        Lr = 5e-5;
        WeightDecay = 0.1;
        EvalEvery = 5;
        EvalBatches = 5;
    }

    // Data: one file split 85/10/5 (train / test / validation, in file order unless ShuffleData), or given sets.
    public string? Data { get; init; }
    public string? Train { get; init; }
    public string? Validation { get; init; }
    public string? Test { get; init; }
    public bool ShuffleData { get; init; }

    /// <summary>Ids per training row at most (default: the model's context).</summary>
    public int? MaxLength { get; init; }

    /// <summary>The book's exercise 7.2: targets that predict prompt tokens are ignored too.</summary>
    public bool MaskInstruction { get; init; }

    /// <summary>The tokenizer of random weights (<c>--preset</c>, <c>--config</c>); loaded weights bring theirs.</summary>
    public string Tokenizer { get; init; } = "gpt2";

    public int? LoraRank { get; init; }
    public double? LoraAlpha { get; init; }

    /// <summary>Tokens of each test response written at the end (the book: 256).</summary>
    public int MaxNewTokens { get; init; } = 256;

    [JsonIgnore]
    public override string InitOption => "--model";

    [JsonIgnore]
    public override int DefaultEpochs => 2;

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        bool files = Train != null || Validation != null || Test != null;
        require(Data != null || Train != null, "give --data (one file, split 85/10/5) or --train (with --validation and --test if you have them)");
        require(!(Data != null && files), "give --data or --train/--validation/--test, not both");
        require(!(ShuffleData && files), "--shuffle shuffles one --data file before it is split; it does not apply to --train/--validation/--test");
        require(MaxLength is null or >= 2, $"--max-length must be at least 2, got {MaxLength}");
        require(LoraRank is null or >= 1, $"--lora-rank must be at least 1, got {LoraRank}");
        require(LoraAlpha is null || LoraRank != null, "--lora-alpha needs --lora-rank");
        require(LoraAlpha is null || double.IsFinite(LoraAlpha.Value) && LoraAlpha > 0, $"--lora-alpha must be above 0, got {LoraAlpha}");
        require(MaxNewTokens >= 0, $"--max-new-tokens must be at least 0, got {MaxNewTokens}");
    }

    public override TrainingOptions WithAbsolutePaths() => (InstructionOptions)base.WithAbsolutePaths() with
    {
        Data = Absolute(Data),
        Train = Absolute(Train),
        Validation = Absolute(Validation),
        Test = Absolute(Test),
        Tokenizer = Tokenizer is "gpt2" ? Tokenizer : Absolute(Tokenizer)!,
    };

    public override IEnumerable<(string Option, string? Path)> Inputs() =>
        [.. base.Inputs(), .. DataInputs(), ("--tokenizer", Tokenizer)];

    /// <summary>The files the run reads again when it resumes.</summary>
    public IEnumerable<(string Option, string? Path)> DataInputs() =>
        [("--data", Data), ("--train", Train), ("--validation", Validation), ("--test", Test)];
}
