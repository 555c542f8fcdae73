using LlmForge.Training;
using System.Text.Json.Serialization;

namespace LlmForge.Classification;

/// <summary>
/// Everything that decides a classifier's fine-tuning run (chapter 6, appendix E): the shared training
/// settings with the book's defaults for chapter 6 (batches of 8, AdamW lr 5e-5 and weight decay 0.1,
/// 5 epochs, an evaluation every 50 steps on 5 batches), the labelled data, and what trains.
/// </summary>
public sealed record ClassificationOptions() : FineTuningOptions(batchSize: 8, lr: 5e-5, weightDecay: 0.1, evalEvery: 50, evalBatches: 5)
{
    // Data: one labelled file split 70/10/20, or the three sets as files (FineTuningOptions).
    public string? TextColumn { get; init; }
    public string? LabelColumn { get; init; }
    public bool Balance { get; init; }

    // What trains: the last blocks, the final norm and the head (the book: one block), everything, or LoRA adapters.
    public int? TrainLastBlocks { get; init; }
    public bool TrainAll { get; init; }

    /// <summary>last (the book's: the output at the last position, padding included) or mean (over the real tokens).</summary>
    public string Pooling { get; init; } = "last";

    /// <summary>Keep <c>RUN/best/</c>, the model of the best validation accuracy, and report the final accuracies from it.</summary>
    public bool KeepBest { get; init; }

    protected override bool NeedsEverySet => true;

    protected override string SplitName => "70/10/20";

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
        require(!(Balance && Data == null), "--balance undersamples one --data file before it is split; it does not apply to --train/--validation/--test");
        require(TrainLastBlocks is null or >= 0, $"--train-last-blocks must be at least 0, got {TrainLastBlocks}");
        require(!(TrainAll && TrainLastBlocks != null), "give --train-all or --train-last-blocks, not both");
        require(!(TrainAll && LoraRank != null), "give --train-all or --lora-rank, not both (LoRA trains adapters instead of the weights)");
        require(Pooling is "last" or "mean", $"--pool must be last or mean, got '{Pooling}'");
    }
}
