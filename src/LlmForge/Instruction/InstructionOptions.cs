using LlmForge.Training;
using System.Text.Json.Serialization;

namespace LlmForge.Instruction;

/// <summary>
/// Everything that decides an instruction fine-tuning run (chapter 7): the shared training settings
/// with the book's defaults for chapter 7 (batches of 8, AdamW lr 5e-5 and weight decay 0.1, 2 epochs,
/// an evaluation every 5 steps on 5 batches), the instruction data, and what trains.
/// </summary>
public sealed record InstructionOptions() : FineTuningOptions(batchSize: 8, lr: 5e-5, weightDecay: 0.1, evalEvery: 5, evalBatches: 5)
{
    /// <summary>Shuffle the one <c>--data</c> file with the seed before its 85/10/5 split (train / test / validation).</summary>
    public bool ShuffleData { get; init; }

    /// <summary>The book's exercise 7.2: targets that predict prompt tokens are ignored too.</summary>
    public bool MaskInstruction { get; init; }

    /// <summary>Tokens of each test response written at the end (the book: 256).</summary>
    public int MaxNewTokens { get; init; } = 256;

    protected override string SplitName => "85/10/5";

    [JsonIgnore]
    public override int DefaultEpochs => 2;

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        require(!(ShuffleData && Data == null), "--shuffle shuffles one --data file before it is split; it does not apply to --train/--validation/--test");
        require(MaxNewTokens >= 0, $"--max-new-tokens must be at least 0, got {MaxNewTokens}");
    }
}
