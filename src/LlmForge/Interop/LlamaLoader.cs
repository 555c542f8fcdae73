using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Model.Llama;

namespace LlmForge.Interop;

/// <summary>
/// Loads a Llama 3 or Qwen3 model from a directory: a Hugging Face download as the repositories ship it
/// (<c>config.json</c>, <c>model.safetensors</c> or shards with <c>model.safetensors.index.json</c>, names such as
/// <c>model.layers.0.self_attn.q_proj.weight</c>, bf16 as published), or an LlmForge checkpoint of one (the same
/// <c>config.json</c> keys plus <c>architecture</c>, book names, LoRA adapters when <c>lora</c> is set). The model
/// is built in the dtype asked for, uninitialised, and each tensor read straight into its parameter; a tensor stored
/// in another dtype is converted a few megabytes at a time, so loading peaks at the weights plus that buffer.
/// </summary>
public static class LlamaLoader
{
    /// <summary>Rows of a tensor converted at once: at most this many bytes in the file's dtype.</summary>
    const long ConversionBufferBytes = 64L << 20;

    /// <summary>Whether <paramref name="configPath"/>'s <c>model_type</c> is one of this family's (for dispatching loaders).</summary>
    public static bool IsLlamaFamily(string configPath)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(configPath)) is JsonObject json
                && json["model_type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String
                && LlamaConfig.ModelTypes.Contains(type.GetValue<string>());
        }
        // A duplicated key makes JsonObject throw ArgumentException when it is first read.
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return false; // the config's own reader reports what is wrong with it
        }
    }

    /// <param name="directory">a Hugging Face model directory or an LlmForge checkpoint of a Llama-family model (verify a checkpoint's checksums first).</param>
    /// <param name="dtype">fp32, bf16 or fp16, whatever the files hold.</param>
    public static LlamaModel Load(string directory, ScalarType dtype = ScalarType.Float32)
    {
        if (!Directory.Exists(directory)) throw new BadInputException($"{directory}: no such model directory");
        string configPath = Path.Combine(directory, "config.json");
        var config = LlamaConfig.Load(configPath);
        var json = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject;
        var lora = CheckpointConfig.LoRA(json, configPath);
        var head = CheckpointConfig.OutputHead(json, configPath);
        using var source = SafeTensorsShards.Open(directory);
        var model = new LlamaModel(config, dtype, initialize: false);
        try
        {
            // A classifier's head before the adapters, which may wrap it.
            if (head is var (size, bias, labels))
            {
                model.ReplaceOutputHead(nn.Linear(config.HiddenSize, size, hasBias: bias), labels);
                model.ClassifierInput = CheckpointConfig.ClassifierInput(json, configPath);
            }
            if (lora is var (rank, alpha) && LoRA.Apply(model, rank, alpha, path => source.Names.Contains(path + ".lora.A")) == 0)
                throw new BadInputException($"{configPath}: 'lora' is set but {source.Path} holds no adapters (no '*.lora.A' tensors)");
            ReadWeights(model, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.PromptFormat = CheckpointConfig.PromptFormat(json, configPath);
        model.eval();
        return model;
    }

    /// <summary>
    /// Fills every parameter of <paramref name="model"/> from <paramref name="source"/>, in Hugging Face's names or
    /// the book's (whichever the file uses). Each parameter must be found with its shape and a floating-point
    /// dtype, and each tensor used (or known to be no parameter); the message names the file, tensors and shapes.
    /// </summary>
    public static void ReadWeights(LlamaModel model, SafeTensorsShards source)
    {
        var config = model.Config;
        bool hf = source.Names.Contains(LlamaHfNames.Embedding);
        if (!hf && !source.Names.Contains("tok_emb.weight"))
            throw new BadInputException($"{source.Path}: not {config.ModelType} weights (no '{LlamaHfNames.Embedding}' or 'tok_emb.weight' among its {source.Names.Count} tensors)");
        var problems = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var parameters = model.named_parameters().ToList();
        string SourceName(string parameter) => hf ? LlamaHfNames.ToHf(parameter) : parameter;
        foreach (var (name, parameter) in parameters)
        {
            string stored = SourceName(name);
            if (!source.Names.Contains(stored))
            {
                problems.Add($"missing tensor '{stored}' (for {name}, shape {Show(parameter.shape)})");
                continue;
            }
            used.Add(stored);
            long[] shape = source.Shape(stored);
            if (!shape.SequenceEqual(parameter.shape))
                problems.Add($"tensor '{stored}' has shape {Show(shape)}, expected {Show(parameter.shape)}");
            else if (source.DType(stored) is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
                problems.Add($"tensor '{stored}' has dtype {source.DType(stored)}, expected a floating-point type");
        }
        // A tied model reads its head off the embedding: a copy of it in the file is not needed.
        bool Ignored(string stored) => hf && (LlamaHfNames.IsIgnored(stored) || stored == LlamaHfNames.OutputHead && config.TieWordEmbeddings);
        foreach (string stored in source.Names.Where(n => !used.Contains(n) && !Ignored(n)).Order(StringComparer.Ordinal))
            problems.Add($"unexpected tensor '{stored}' (shape {Show(source.Shape(stored))})");
        if (problems.Count > 0)
        {
            string more = problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "";
            throw new BadInputException($"{source.Path}: does not fit the model ({config.ModelType}, {config.NumLayers} layers, hidden_size {config.HiddenSize}, vocab_size {config.VocabSize}{(config.TieWordEmbeddings ? ", tied head" : "")}): {string.Join("; ", problems.Take(5))}{more}");
        }

        using var noGrad = no_grad();
        var buffers = new Dictionary<ScalarType, Tensor>();
        try
        {
            foreach (var (name, parameter) in parameters)
            {
                string stored = SourceName(name);
                var dtype = source.DType(stored);
                if (dtype == parameter.dtype)
                {
                    source.ReadInto(stored, parameter);
                    continue;
                }
                Convert(source, stored, parameter, Buffer(buffers, dtype));
            }
        }
        finally
        {
            foreach (var buffer in buffers.Values) buffer.Dispose();
        }
    }

    /// <summary>Reads <paramref name="stored"/> into <paramref name="parameter"/> of another dtype through <paramref name="buffer"/>, rows at a time.</summary>
    static void Convert(SafeTensorsShards source, string stored, Tensor parameter, Tensor buffer)
    {
        long rows = parameter.dim() >= 2 ? parameter.shape[0] : 1;
        long rowElements = parameter.numel() / rows;
        // At least one row, however wide: the buffer grows for it.
        long rowsAtOnce = Math.Max(1, buffer.numel() / rowElements);
        using var flat = parameter.view(-1);
        for (long row = 0; row < rows; row += rowsAtOnce)
        {
            long count = Math.Min(rowsAtOnce, rows - row);
            using var chunk = count * rowElements <= buffer.numel() ? buffer.narrow(0, 0, count * rowElements) : empty(count * rowElements, buffer.dtype);
            source.ReadRowsInto(stored, row, chunk);
            using var target = flat.narrow(0, row * rowElements, count * rowElements);
            target.copy_(chunk);
        }
    }

    static Tensor Buffer(Dictionary<ScalarType, Tensor> buffers, ScalarType dtype)
    {
        if (!buffers.TryGetValue(dtype, out var buffer))
            buffers[dtype] = buffer = empty(ConversionBufferBytes / (dtype == ScalarType.Float64 ? 8 : dtype == ScalarType.Float32 ? 4 : 2), dtype);
        return buffer;
    }

    static string Show(long[] shape) => $"[{string.Join(", ", shape)}]";
}
