namespace LlmForge.Training;

/// <summary>
/// The one rule by which every trainer picks the model it starts from: existing weights
/// (<c>--init</c> / <c>--model</c>, any form <c>generate</c> takes, with <c>--config</c> for a bare
/// <c>.pth</c>), or random weights from <c>--config</c> or a <c>--preset</c> (gpt2-small when none is given).
/// </summary>
public static class ModelChoice
{
    public static void Validate(TrainingOptions options)
    {
        int models = (options.Preset != null ? 1 : 0) + (options.Init != null ? 1 : 0) + (options.ConfigPath != null && options.Init == null ? 1 : 0);
        if (models > 1)
            throw new BadInputException($"give one of --preset, --config and {options.InitOption} (with {options.InitOption}, --config describes the weights)");
    }

    /// <summary>The config of random weights: <c>--config</c>, or a preset (gpt2-small when neither is given).</summary>
    public static GptConfig RandomConfig(string? preset, string? configPath)
    {
        if (preset != null && configPath != null) throw new BadInputException("give one of --preset and --config");
        return configPath != null ? GptConfig.Load(configPath) : GptConfig.Preset(preset ?? "gpt2-small");
    }

    /// <summary>
    /// The model and the tokenizer it reads. Random weights take <paramref name="tokenizer"/>'s vocabulary
    /// (GPT-2's when null); loaded weights bring their own tokenizer unless one is given, and must
    /// match its vocabulary. With a preset, <paramref name="contextLength"/> also sets the model's context.
    /// </summary>
    public static (GptModel Model, ITokenizer Tokenizer) Create(TrainingOptions options, ITokenizer? tokenizer, int? contextLength = null)
    {
        GptModel model;
        if (options.Init != null)
        {
            var loaded = ModelLoader.Load(options.Init, options.ConfigPath);
            model = loaded.Model;
            tokenizer ??= loaded.Tokenizer;
            if (options.Dropout is double rate && rate != model.Config.DropRate) model = WithDropout(model, rate);
        }
        else
        {
            tokenizer ??= TokenizerLoader.Gpt2Default;
            var config = RandomConfig(options.Preset, options.ConfigPath);
            // With a preset, the context length also sets the model's context (the book's run uses 256).
            if (options.ConfigPath == null && contextLength is int context) config = config with { ContextLength = context };
            if (options.Dropout is double rate) config = config with { DropRate = rate };
            if (options.ConfigPath == null) config = config with { VocabSize = tokenizer.VocabSize };
            model = new GptModel(config.Validated("model config"));
        }
        // A larger model vocabulary would let samples hold ids the tokenizer cannot decode; a smaller one, ids it cannot embed.
        if (model.Config.VocabSize != tokenizer.VocabSize)
        {
            model.Dispose();
            string source = options.Init != null ? $"{options.InitOption} {options.Init}" : $"--config {options.ConfigPath}";
            throw new BadInputException($"{source}: the model's vocabulary has {model.Config.VocabSize} ids, the tokenizer {tokenizer.Name} has {tokenizer.VocabSize}; they must be equal"
                + (options.Init == null ? $" (set vocab_size to {tokenizer.VocabSize}, or use a preset, which takes the tokenizer's)" : ""));
        }
        return (model, tokenizer);
    }

    /// <summary>Dropout modules take their rate when built: the same weights in a model built with <paramref name="rate"/>.</summary>
    static GptModel WithDropout(GptModel model, double rate)
    {
        var rebuilt = model.NewOfSameShape(model.Config with { DropRate = rate });
        var weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
            foreach (var (name, target) in rebuilt.named_parameters())
                target.copy_(weights[name]);
        model.Dispose();
        return rebuilt;
    }
}
