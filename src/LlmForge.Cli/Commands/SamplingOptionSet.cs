namespace LlmForge.Cli.Commands;

/// <summary>The generation options of every command that writes text (<c>generate</c>, <c>respond</c>), declared once.</summary>
sealed class SamplingOptionSet(int defaultMaxNewTokens)
{
    public readonly Option<int> MaxNewTokens = new("--max-new-tokens")
    {
        Description = $"tokens to generate, 0 or more (default {defaultMaxNewTokens}); past the context the window slides",
        DefaultValueFactory = _ => defaultMaxNewTokens,
    };
    public readonly Option<double> Temperature = new("--temperature") { Description = "0 (default) is greedy; any finite value above 0 samples (below about 0.01 practically greedy)", DefaultValueFactory = _ => 0.0 };
    public readonly Option<int?> TopK = new("--top-k") { Description = "sample among the k most likely tokens, k at least 1" };
    public readonly Option<double?> TopP = new("--top-p") { Description = "sample among the most likely tokens covering probability p, in (0, 1]" };
    public readonly Option<long> Seed = new("--seed") { Description = "sampling seed (default 123)", DefaultValueFactory = _ => 123 };

    public Option[] All => [MaxNewTokens, Temperature, TopK, TopP, Seed];

    /// <summary>The options as given, checked.</summary>
    public GenerationOptions Read(ParseResult parse) => new GenerationOptions
    {
        MaxNewTokens = parse.GetValue(MaxNewTokens),
        Temperature = parse.GetValue(Temperature),
        TopK = parse.GetValue(TopK),
        TopP = parse.GetValue(TopP),
        Seed = parse.GetValue(Seed),
    }.Validated();
}
