namespace LlmForge.Cli.Commands;

/// <summary>
/// The data, length, tokenizer and LoRA options every <c>finetune</c> command shares, declared once
/// (<see cref="FineTuningOptions"/>); each command words <c>--data</c> and the sets for its own data.
/// </summary>
/// <param name="randomWeights">whether the trainer may start from random weights, which read <c>--tokenizer</c> (DPO needs <c>--model</c>).</param>
sealed class FineTuningOptionSet(FineTuningOptions defaults, string data, string train, string maxLength, bool randomWeights = true)
{
    public readonly Option<string> Data = new("--data") { Description = data };
    public readonly Option<string> Train = new("--train") { Description = train };
    public readonly Option<string> Validation = new("--validation") { Description = "the validation set" };
    public readonly Option<string> Test = new("--test") { Description = "the test set" };
    public readonly Option<int?> MaxLength = new("--max-length") { Description = maxLength };
    public readonly Option<string> Tokenizer = new("--tokenizer")
    {
        Description = "the tokenizer of random weights: gpt2 (default) or a trained one; loaded weights bring theirs",
        DefaultValueFactory = _ => defaults.Tokenizer,
    };
    public readonly Option<int?> LoraRank = new("--lora-rank") { Description = "wrap every linear layer of the blocks and the head with LoRA adapters of this rank; only they train" };
    public readonly Option<double?> LoraAlpha = new("--lora-alpha") { Description = "LoRA's alpha: adapters' output scaled by alpha / rank (default: the rank)" };

    public Option[] All => randomWeights ? [Data, Train, Validation, Test, MaxLength, Tokenizer, LoraRank, LoraAlpha] : [Data, Train, Validation, Test, MaxLength, LoraRank, LoraAlpha];

    /// <summary><paramref name="start"/> (the trainer's own options) with these as given.</summary>
    public T Read<T>(ParseResult parse, T start) where T : FineTuningOptions => (T)(start with
    {
        Data = parse.GetValue(Data),
        Train = parse.GetValue(Train),
        Validation = parse.GetValue(Validation),
        Test = parse.GetValue(Test),
        MaxLength = parse.GetValue(MaxLength),
        Tokenizer = randomWeights ? parse.GetValue(Tokenizer)! : defaults.Tokenizer,
        LoraRank = parse.GetValue(LoraRank),
        LoraAlpha = parse.GetValue(LoraAlpha),
    });
}
