using System.Text.Json.Serialization;
using LlmForge.Training;

namespace LlmForge.Classification;

/// <summary>
/// Everything that decides a classifier's fine-tuning run (chapter 6, appendix E): the shared training
/// settings with the book's defaults for chapter 6 (batches of 8, AdamW lr 5e-5 and weight decay 0.1,
/// 5 epochs, an evaluation every 50 steps on 5 batches), the labelled data, and what trains.
/// </summary>
public sealed record ClassificationOptions : TrainingOptions
{
    public ClassificationOptions()
    {
        BatchSize = 8;
        Lr = 5e-5;
        WeightDecay = 0.1;
        EvalEvery = 50;
        EvalBatches = 5;
    }

    // Data: one labelled file split 70/10/20, or the three sets as files.
    public string? Data { get; init; }
    public string? Train { get; init; }
    public string? Validation { get; init; }
    public string? Test { get; init; }
    public string? TextColumn { get; init; }
    public string? LabelColumn { get; init; }
    public bool Balance { get; init; }
    public int? MaxLength { get; init; }

    /// <summary>The tokenizer of random weights (<c>--preset</c>, <c>--config</c>); loaded weights bring theirs.</summary>
    public string Tokenizer { get; init; } = "gpt2";

    // What trains: the last blocks, the final norm and the head (the book: one block), everything, or LoRA adapters.
    public int? TrainLastBlocks { get; init; }
    public bool TrainAll { get; init; }
    public int? LoraRank { get; init; }
    public double? LoraAlpha { get; init; }

    /// <summary>last (the book's: the output at the last position, padding included) or mean (over the real tokens).</summary>
    public string Pooling { get; init; } = "last";

    /// <summary>Keep <c>RUN/best/</c>, the model of the best validation accuracy, and report the final accuracies from it.</summary>
    public bool KeepBest { get; init; }

    [JsonIgnore]
    public override string InitOption => "--model";

    [JsonIgnore]
    public override int DefaultEpochs => 5;

    [JsonIgnore]
    public override bool EvaluateEachEpoch => true;

    /// <summary>Blocks whose weights train besides the final norm and head: 1 by default (the book), none with LoRA unless asked.</summary>
    [JsonIgnore]
    public int LastBlocksTrained => TrainLastBlocks ?? (LoraRank != null ? 0 : 1);

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        bool files = Train != null || Validation != null || Test != null;
        require(Data != null || files, "give --data (one labelled file, split 70/10/20) or --train, --validation and --test");
        require(!(Data != null && files), "give --data or --train/--validation/--test, not both");
        require(!files || Train != null && Validation != null && Test != null, "give all three of --train, --validation and --test");
        require(!(Balance && files), "--balance undersamples one --data file before it is split; it does not apply to --train/--validation/--test");
        require(MaxLength is null or >= 1, $"--max-length must be at least 1, got {MaxLength}");
        require(TrainLastBlocks is null or >= 0, $"--train-last-blocks must be at least 0, got {TrainLastBlocks}");
        require(!(TrainAll && TrainLastBlocks != null), "give --train-all or --train-last-blocks, not both");
        require(LoraRank is null or >= 1, $"--lora-rank must be at least 1, got {LoraRank}");
        require(LoraAlpha is null || LoraRank != null, "--lora-alpha needs --lora-rank");
        require(LoraAlpha is null || double.IsFinite(LoraAlpha.Value) && LoraAlpha > 0, $"--lora-alpha must be above 0, got {LoraAlpha}");
        require(!(TrainAll && LoraRank != null), "give --train-all or --lora-rank, not both (LoRA trains adapters instead of the weights)");
        require(Pooling is "last" or "mean", $"--pool must be last or mean, got '{Pooling}'");
    }

    public override TrainingOptions WithAbsolutePaths() => (ClassificationOptions)base.WithAbsolutePaths() with
    {
        Data = Absolute(Data),
        Train = Absolute(Train),
        Validation = Absolute(Validation),
        Test = Absolute(Test),
        Tokenizer = Tokenizer is "gpt2" ? Tokenizer : Absolute(Tokenizer)!,
    };

    public override IEnumerable<(string Option, string? Path)> Inputs() =>
        [.. base.Inputs(), ("--data", Data), ("--train", Train), ("--validation", Validation), ("--test", Test), ("--tokenizer", Tokenizer)];

    /// <summary>The files the run reads again when it resumes.</summary>
    public IEnumerable<(string Option, string? Path)> DataInputs() =>
        [("--data", Data), ("--train", Train), ("--validation", Validation), ("--test", Test)];
}
