using LlmForge.Model;
using LlmForge.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>A model ready to use: the network, its config, its tokenizer, and where it came from.</summary>
public sealed record LoadedModel(GptModel Model, GptConfig Config, ITokenizer Tokenizer, string Source, string Layout) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Resolves the <c>--model</c> argument of every command: a Hugging Face GPT-2 directory or
/// <c>.safetensors</c> file (config.json beside it), a native checkpoint directory, or a PyTorch
/// <c>.pth</c> state dict (book or Hugging Face names; config from <c>--config</c>, a JSON file beside
/// it, or inferred from the shapes).
/// </summary>
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
        var head = configPath != null ? ArchitectureOf(configPath) : null;
        var model = new GptModel(config);
        try
        {
            if (head is var (size, bias)) model.ReplaceOutputHead(TorchSharp.torch.nn.Linear(config.EmbDim, size, hasBias: bias));
            WeightLoader.Load(model, source, layout);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        if (dtype != ScalarType.Float32) model.to(dtype);
        return new LoadedModel(model, config, tokenizer, weights, layout.Name);
    }

    /// <summary>
    /// The loader dispatches on <c>config.json</c>'s <c>architecture</c>: <c>gpt2</c>, or none (checkpoints written
    /// before the key existed, and Hugging Face GPT-2 configs), is the only family yet. Returns a replaced
    /// output head's size and bias (<c>output_head</c>), or null for the vocabulary head.
    /// </summary>
    static (int Size, bool Bias)? ArchitectureOf(string configPath)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath)) as System.Text.Json.Nodes.JsonObject;
        if (json?["architecture"] is System.Text.Json.Nodes.JsonNode architecture
            && (architecture.GetValueKind() != System.Text.Json.JsonValueKind.String || architecture.GetValue<string>() != "gpt2"))
            throw new BadInputException($"{configPath}: architecture {architecture.ToJsonString()} is not one this version of LlmForge builds (gpt2)");
        if (json?["output_head"] is not System.Text.Json.Nodes.JsonObject head) return null;
        if (head["size"] is not System.Text.Json.Nodes.JsonValue size || !size.TryGetValue(out int outputs) || outputs < 1
            || head["bias"] is not System.Text.Json.Nodes.JsonValue bias || !bias.TryGetValue(out bool hasBias))
            throw new BadInputException($"{configPath}: 'output_head' must be {{\"size\": a positive integer, \"bias\": true or false}}");
        return (outputs, hasBias);
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
        if (spec is null or "gpt2") return TokenizerLoader.Gpt2Default;
        return Gpt2Tokenizer.Load(Path.Combine(directory, spec));
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
