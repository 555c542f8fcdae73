using LlmForge.Training;
using System.Text.Json.Serialization;

namespace LlmForge.Preference;

/// <summary>
/// Everything that decides a DPO run (the book's bonus to chapter 7): the shared training settings with
/// the book's DPO defaults (batches of 8, AdamW lr 5e-6 and weight decay 0.01, 1 epoch, an evaluation
/// every 5 steps on 5 batches), the preference data, and β.
/// </summary>
public sealed record DpoOptions() : FineTuningOptions(batchSize: 8, lr: 5e-6, weightDecay: 0.01, evalEvery: 5, evalBatches: 5)
{
    /// <summary>How far the policy may move from the reference: the β of the loss (the book: 0.1).</summary>
    public double Beta { get; init; } = 0.1;

    protected override string SplitName => "85/10/5";

    protected override void Validate(Action<bool, string> require)
    {
        require(Init != null, "give --model: the model to align (the policy starts from it, and a frozen copy of it is the reference)");
        base.Validate(require);
        require(double.IsFinite(Beta) && Beta > 0, $"--beta must be above 0, got {Beta}");
    }

    /// <summary>The files the run reads again when it resumes, with the starting model: the reference.</summary>
    public override IEnumerable<(string Option, string? Path)> DataInputs() => [.. base.DataInputs(), ("--model", Init)];
}
