namespace LlmForge.Training;

/// <summary>
/// Everything that decides a pretraining run (chapter 5): the shared training settings with the
/// book's defaults for its pretraining run, and the text, windows and samples of pretraining.
/// </summary>
public sealed record PretrainingOptions : TrainingOptions
{
    public string Data { get; init; } = "";
    public double ValFraction { get; init; } = 0.1;
    public int? ContextLength { get; init; }
    public int? Stride { get; init; }
    public string Tokenizer { get; init; } = "gpt2";
    public string SamplePrompt { get; init; } = "Every effort moves you";
    public int SampleTokens { get; init; } = 50;

    protected override void Validate(Action<bool, string> require)
    {
        base.Validate(require);
        require(Data.Length > 0, "give --data: a text file or a directory of .txt files");
        require(ContextLength is null or >= 1, $"--context-length must be at least 1, got {ContextLength}");
        require(Stride is null or >= 1, $"--stride must be at least 1, got {Stride}");
        require(double.IsFinite(ValFraction) && ValFraction is >= 0 and < 1, $"--val-fraction must be in [0, 1), got {ValFraction}");
        require(SampleTokens >= 0, $"--sample-tokens must be at least 0, got {SampleTokens}");
    }

    public override TrainingOptions WithAbsolutePaths() => (PretrainingOptions)base.WithAbsolutePaths() with
    {
        Data = Absolute(Data)!,
        Tokenizer = Tokenizer is "gpt2" or "simple" ? Tokenizer : Absolute(Tokenizer)!,
    };

    public override IEnumerable<(string Option, string? Path)> Inputs() => [.. base.Inputs(), ("--data", Data), ("--tokenizer", Tokenizer)];
}
