using System.Text.Json.Serialization;
using LlmForge.Training;

namespace LlmForge.Preference;

/// <summary>
/// Everything that decides a DPO run (the book's bonus to chapter 7): the shared training settings with
/// the book's DPO defaults (batches of 8, AdamW lr 5e-6 and weight decay 0.01, 1 epoch, an evaluation
/// every 5 steps on 5 batches), the preference data, and β.
/// </summary>
public sealed record DpoOptions : TrainingOptions
{
    public DpoOptions()
    {
        BatchSize = 8;
        Lr = 5e-6;
        WeightDecay = 0.01;
        EvalEvery = 5;
        EvalBatches = 5;
    }

    public string? Data { get; init; }
    public string? Train { get; init; }
    public string? Validation { get; init; }
    public string? Test { get; init; }

    /// <summary>How far the policy may move from the reference: the β of the loss (the book: 0.1).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>Ids per sequence at most (default: the model's context).</summary>
    public int? MaxLength { get; init; }

    [JsonIgnore]
    public override string InitOption => "--model";

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        bool files = Train != null || Validation != null || Test != null;
        require(Init != null, "give --model: the model to align (the policy starts from it, and a frozen copy of it is the reference)");
        require(Data != null || Train != null, "give --data (one file, split 85/10/5) or --train (with --validation and --test if you have them)");
        require(!(Data != null && files), "give --data or --train/--validation/--test, not both");
        require(double.IsFinite(Beta) && Beta > 0, $"--beta must be above 0, got {Beta}");
        require(MaxLength is null or >= 2, $"--max-length must be at least 2, got {MaxLength}");
    }

    public override TrainingOptions WithAbsolutePaths() => (DpoOptions)base.WithAbsolutePaths() with
    {
        Data = Absolute(Data),
        Train = Absolute(Train),
        Validation = Absolute(Validation),
        Test = Absolute(Test),
    };

    public override IEnumerable<(string Option, string? Path)> Inputs() => [.. base.Inputs(), .. DataInputs()];

    /// <summary>The files the run reads again when it resumes (with the starting model, the reference).</summary>
    public IEnumerable<(string Option, string? Path)> DataInputs() =>
        [("--data", Data), ("--train", Train), ("--validation", Validation), ("--test", Test), ("--model", Init)];
}
