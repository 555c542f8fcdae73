using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Interop;

/// <summary>A model ready to use: the network of any family, its tokenizer, and where it came from.</summary>
public sealed record LoadedModel(ILanguageModel Network, ITokenizer Tokenizer, string Source, string Layout) : IDisposable
{
    /// <summary>
    /// The network as a GPT-2 family model, for what only that family has yet (class heads, the book's trainers);
    /// another family is refused by name.
    /// </summary>
    /// <exception cref="BadInputException">the model is of another family.</exception>
    public GptModel Model => Network as GptModel
        ?? throw new BadInputException($"{Source}: a {Network.Architecture} model; this takes GPT-2 family models only so far");

    public GptConfig Config => Model.Config;

    /// <summary>A classifier's class names in class-index order; null for a language model (or a class head saved without names).</summary>
    public IReadOnlyList<string>? Labels => (Network as IClassifierModel)?.Labels;

    public void Dispose() => Network.Dispose();
}

/// <summary>
/// Resolves the <c>--model</c> argument of every command: a Hugging Face GPT-2 directory or
/// <c>.safetensors</c> file (config.json beside it), a native checkpoint directory, or a PyTorch
/// <c>.pth</c> state dict (book or Hugging Face names; config from <c>--config</c>, a JSON file beside
/// it, or inferred from the shapes).
/// </summary>
/// <remarks>
/// A replaced output head (a classifier's) comes from the config's <c>output_head</c> (size, bias, label
/// names), or else from a book-named file's own <c>out_head.weight</c> when it is not vocabulary-wide
/// (the book's <c>torch.save</c> of a classifier). A config's <c>lora</c> (rank, alpha) wraps the layers
/// whose adapters the file holds before the weights are read, so a LoRA checkpoint loads as it was saved.
/// </remarks>
public static class ModelLoader
{
    /// <param name="spec">the model, as the <c>--model</c> option takes it.</param>
    /// <param name="configPath">its config, for weights without one beside them.</param>
    /// <param name="dtype">the dtype to compute in: fp32 (default) whatever the file holds, or bf16/fp16 to keep half the memory.</param>
    public static LoadedModel Load(string spec, string? configPath = null, ScalarType dtype = ScalarType.Float32)
    {
        string? weights = null;
        spec = Gpt2Cache.Resolve(spec);
        if (Directory.Exists(spec))
        {
            // A training run stands for its newest checkpoint.
            if (Directory.Exists(Checkpoint.CheckpointsDir(spec)))
                spec = Checkpoint.Latest(spec) ?? throw new BadInputException($"{spec}: the run has no checkpoint yet");
            // A native checkpoint is always verified: deleting its checksums.json must not switch the check off.
            if (File.Exists(Path.Combine(spec, Checkpoint.ChecksumsFile)) || Checkpoint.IsNative(spec)) Checkpoint.Verify(spec);
            // Llama 3 and Qwen3 (a Hugging Face directory, sharded or not, or a checkpoint of one).
            string familyConfig = Path.Combine(spec, "config.json");
            if (LlamaLoader.IsLlamaFamily(familyConfig))
            {
                var familyTokenizer = TokenizerOf(familyConfig); // before the weights: a bad tokenizer fails fast
                return new LoadedModel(LlamaLoader.Load(spec, dtype), familyTokenizer, spec, "huggingface-llama");
            }
            weights = Path.Combine(spec, "model.safetensors");
            if (!File.Exists(weights))
                throw new BadInputException($"{spec}: not a model directory (no model.safetensors; expected a Hugging Face GPT-2 or LlmForge checkpoint directory)");
        }
        else if (File.Exists(spec))
        {
            weights = spec;
        }
        else
        {
            throw new BadInputException($"{spec}: no such model file or directory");
        }

        using IWeightSource source = OpenWeights(weights);
        var layout = WeightLayout.Detect(source);
        configPath ??= FindConfigBeside(weights);
        var config = configPath != null ? GptConfig.Load(configPath) : ConfigInference.Infer(source, layout);
        // Before the weights: a bad tokenizer fails fast and leaves no half-built model behind.
        var tokenizer = TokenizerOf(configPath);
        var extras = configPath != null ? ExtrasOf(configPath) : new ConfigExtras(null, null);
        var head = extras.Head ?? HeadInFile(source, layout, config);
        var model = new GptModel(config);
        try
        {
            if (head is var (size, bias, labels)) model.ReplaceOutputHead(TorchSharp.torch.nn.Linear(config.EmbDim, size, hasBias: bias), labels);
            model.ClassifierInput = extras.Input;
            model.PromptFormat = extras.PromptFormat;
            if (extras.LoRA is var (rank, alpha))
            {
                // Only the layers whose adapters the file holds: the weight loader then names anything missing.
                if (LoRA.Apply(model, rank, alpha, path => source.Names.Contains(path + ".lora.A")) == 0)
                    throw new BadInputException($"{configPath}: 'lora' is set but {weights} holds no adapters (no '*.lora.A' tensors)");
            }
            WeightLoader.Load(model, source, layout);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        if (dtype != ScalarType.Float32) model.to(dtype);
        return new LoadedModel(model, tokenizer, weights, layout.Name);
    }

    /// <summary>A config's keys beyond the hyperparameters: a replaced output head, and LoRA adapters.</summary>
    sealed record ConfigExtras((int Size, bool Bias, string[]? Labels)? Head, (int Rank, double Alpha)? LoRA, (int PaddedLength, string Pooling)? Input = null, string? PromptFormat = null);

    /// <summary>
    /// The loader dispatches on <c>config.json</c>'s <c>architecture</c>: <c>gpt2</c>, or none (checkpoints written
    /// before the key existed, and Hugging Face GPT-2 configs), is the only family yet. Returns a replaced
    /// output head's size, bias and labels (<c>output_head</c>; labels are optional, checkpoints written
    /// before them have none), and the adapters' rank and alpha (<c>lora</c>).
    /// </summary>
    static ConfigExtras ExtrasOf(string configPath)
    {
        var json = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject;
        if (json?["architecture"] is JsonNode architecture
            && (architecture.GetValueKind() != JsonValueKind.String || architecture.GetValue<string>() != "gpt2"))
            throw new BadInputException($"{configPath}: architecture {architecture.ToJsonString()} is not one this version of LlmForge builds (gpt2)");
        return new ConfigExtras(CheckpointConfig.OutputHead(json, configPath), CheckpointConfig.LoRA(json, configPath), CheckpointConfig.ClassifierInput(json, configPath), CheckpointConfig.PromptFormat(json, configPath));
    }

    /// <summary>
    /// The head a book-named file carries when it is not vocabulary-wide: a classifier saved by the book's
    /// <c>torch.save(model.state_dict())</c> (<c>out_head.weight [classes, emb_dim]</c>, <c>out_head.bias</c>).
    /// Hugging Face's layout has no head of its own to read (it is tied to the embedding, or <c>lm_head</c>).
    /// </summary>
    static (int Size, bool Bias, string[]? Labels)? HeadInFile(IWeightSource source, WeightLayout layout, GptConfig config)
    {
        if (layout is not WeightLayout.Book) return null;
        // Inside a LoRA wrapper the head's own weight is out_head.linear.weight.
        string prefix = source.Names.Contains("out_head.linear.weight") ? "out_head.linear." : "out_head.";
        if (!source.Names.Contains(prefix + "weight")) return null;
        long[] shape = source.Shape(prefix + "weight");
        // Anything else is left to the weight loader, which names the tensor and both shapes.
        if (shape.Length != 2 || shape[1] != config.EmbDim || shape[0] == config.VocabSize || shape[0] is < 1 or > int.MaxValue) return null;
        return ((int)shape[0], source.Names.Contains(prefix + "bias"), null);
    }

    /// <summary>The tokenizer a config names (<c>"tokenizer"</c>: <c>gpt2</c>, or a directory beside it); GPT-2's by default.</summary>
    static ITokenizer TokenizerOf(string? configPath)
    {
        if (configPath == null) return TokenizerLoader.Gpt2Default;
        string? spec = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))?["tokenizer"]?.GetValue<string>();
        string directory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        // A Hugging Face directory names no tokenizer in its config but may carry its own (an export of a
        // model trained with another vocabulary); GPT-2's files give the bundled tokenizer's ids either way.
        if (spec is null && Gpt2Tokenizer.HasHuggingFaceFiles(directory)) return Gpt2Tokenizer.Load(directory);
        // A Llama-family directory from Hugging Face carries its tokenizer.json.
        if (spec is null && TokenizerLoader.FromModelDirectory(directory) is { } own) return own;
        if (spec is null or "gpt2") return TokenizerLoader.Gpt2Default;
        string bundled = Path.Combine(directory, spec);
        return TokenizerLoader.IsHfTokenizerPath(bundled) ? HfBpeTokenizer.Load(bundled) : Gpt2Tokenizer.Load(bundled);
    }

    static IWeightSource OpenWeights(string path)
    {
        // Before the probe below opens it: opening a FIFO would wait for a writer.
        InputFile.RequireRegular(path, "a model file (.safetensors or .pth)");
        using (var probe = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            int read = probe.Read(magic);
            // torch.save writes a zip archive ("PK\x03\x04"); anything else is taken for safetensors.
            if (read == 4 && magic.SequenceEqual("PK\u0003\u0004"u8)) return PthStateDict.Open(path);
        }
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return SafeTensorsFile.Open(path);
        throw new BadInputException($"{path}: not a model file (expected .safetensors or a PyTorch .pth state dict)");
    }

    /// <summary>A config beside the weights: <c>NAME.json</c>, <c>config.json</c>, or <c>book_config.json</c>.</summary>
    static string? FindConfigBeside(string weights)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(weights))!;
        string[] candidates =
        [
            Path.ChangeExtension(Path.GetFullPath(weights), ".json"),
            Path.Combine(dir, "config.json"),
            Path.Combine(dir, "book_config.json"),
        ];
        return candidates.FirstOrDefault(File.Exists);
    }
}
