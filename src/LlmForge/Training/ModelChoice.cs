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

    /// <summary>
    /// A model of random weights (seeded) for measuring, of any family: a preset (gpt2-small when neither is given)
    /// or a config, built in <paramref name="dtype"/>.
    /// </summary>
    public static ILanguageModel RandomModel(string? preset, string? configPath, ScalarType dtype = ScalarType.Float32)
    {
        if (preset != null && configPath != null) throw new BadInputException("give one of --preset and --config");
        manual_seed(123);
        if (LlamaFamilyConfig(preset, configPath) is { } family)
        {
            MemoryBudget.Require(family.ParameterCount() * (double)LlamaModel.ElementSize(dtype), $"the {family.ParameterCount():N0} weights of a random {family.ModelType} model");
            return new LlamaModel(family, dtype);
        }
        var config = RandomConfig(preset, configPath) with { DropRate = 0 };
        var model = new GptModel(config);
        if (dtype != ScalarType.Float32) model.to(dtype);
        return model;
    }

    /// <summary>The config of random weights: <c>--config</c>, or a preset (gpt2-small when neither is given).</summary>
    public static GptConfig RandomConfig(string? preset, string? configPath)
    {
        if (preset != null && configPath != null) throw new BadInputException("give one of --preset and --config");
        return configPath != null ? GptConfig.Load(configPath) : GptConfig.Preset(preset ?? "gpt2-small");
    }

    /// <summary>
    /// A Llama 3 / Qwen3 config for random weights, when <c>--preset</c> names one of that family's or
    /// <c>--config</c> is a Hugging Face config with such a <c>model_type</c>; null for GPT-2's family.
    /// </summary>
    public static LlamaConfig? LlamaFamilyConfig(string? preset, string? configPath) =>
        preset != null ? LlamaConfig.TryPreset(preset)
        : configPath != null && LlamaLoader.IsLlamaFamily(configPath) ? LlamaConfig.Load(configPath) : null;

    /// <summary><see cref="Create"/> for the classifier trainer: a model whose head can be replaced (every family here).</summary>
    public static (IClassifierModel Model, ITokenizer Tokenizer) CreateClassifiable(TrainingOptions options, ITokenizer? tokenizer, int? contextLength = null)
    {
        var (model, chosen) = Create(options, tokenizer, contextLength);
        if (model is IClassifierModel classifiable) return (classifiable, chosen);
        model.Dispose();
        throw new BadInputException($"{(options.Init != null ? options.InitOption + " " + options.Init : "the model")}: a {model.Architecture} model, whose head cannot be replaced by a class head");
    }

    /// <summary>
    /// The model (of any family) and the tokenizer it reads. Random weights take <paramref name="tokenizer"/>'s
    /// vocabulary (GPT-2's when null); loaded weights bring their own tokenizer unless one is given, and must
    /// match its vocabulary. With a preset, <paramref name="contextLength"/> also sets the model's context.
    /// </summary>
    public static (ILanguageModel Model, ITokenizer Tokenizer) Create(TrainingOptions options, ITokenizer? tokenizer, int? contextLength = null)
    {
        ILanguageModel model;
        if (options.Init != null)
        {
            var loaded = ModelLoader.Load(options.Init, options.ConfigPath);
            model = loaded.Network;
            tokenizer ??= loaded.Tokenizer;
            if (options.Dropout is double rate && model is GptModel gpt && rate != gpt.Config.DropRate) model = WithDropout(gpt, rate);
        }
        else if (LlamaFamilyConfig(options.Preset, options.ConfigPath) is { } family)
        {
            tokenizer ??= TokenizerLoader.Gpt2Default;
            // As for GPT-2's presets: the tokenizer's vocabulary, and the run's context.
            if (options.ConfigPath == null) family = family with { VocabSize = tokenizer.VocabSize };
            if (options.ConfigPath == null && contextLength is int context) family = family with { ContextLength = context };
            model = new LlamaModel(family);
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
        // The embedding's vocabulary (a classifier's head counts classes instead).
        int vocabulary = model switch { GptModel gpt => gpt.Config.VocabSize, LlamaModel llama => llama.Config.VocabSize, _ => model.OutputSize };
        // Published weights may pad the vocabulary past the tokenizer's (Qwen3: 151,936 rows for 151,669 tokens): the
        // extra rows are never fed. Random weights take the tokenizer's size exactly.
        bool padded = options.Init != null && vocabulary > tokenizer.VocabSize && model is LlamaModel;
        if (vocabulary != tokenizer.VocabSize && !padded)
        {
            model.Dispose();
            string source = options.Init != null ? $"{options.InitOption} {options.Init}" : options.ConfigPath != null ? $"--config {options.ConfigPath}" : $"--preset {options.Preset}";
            throw new BadInputException($"{source}: the model's vocabulary has {vocabulary} ids, the tokenizer {tokenizer.Name} has {tokenizer.VocabSize}; they must be equal"
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
