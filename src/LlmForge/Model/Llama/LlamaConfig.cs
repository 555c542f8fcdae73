using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Model.Llama;

/// <summary>
/// The hyperparameters of a Llama 3 or Qwen3 model, read from a Hugging Face <c>config.json</c> exactly as
/// those repositories ship it (<c>hidden_size</c>, <c>num_key_value_heads</c>, <c>head_dim</c>, <c>rope_theta</c>,
/// <c>rope_scaling</c>, <c>tie_word_embeddings</c>, ...). The two families are one architecture with switches:
/// Qwen3 normalises each head's queries and keys (<see cref="QkNorm"/>), Llama 3 stretches its rotary
/// frequencies (<see cref="RopeScaling"/>), and either may tie its output head to the token embedding.
/// </summary>
public sealed record LlamaConfig
{
    /// <summary><c>model_type</c>: "llama" or "qwen3"; also the <c>architecture</c> a checkpoint names.</summary>
    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    /// <summary><c>hidden_size</c>: the width of the residual stream (the book's <c>emb_dim</c>).</summary>
    public int HiddenSize { get; init; }
    /// <summary><c>intermediate_size</c>: the SwiGLU feed-forward's hidden width (the book's <c>hidden_dim</c>).</summary>
    public int IntermediateSize { get; init; }
    public int NumLayers { get; init; }
    public int NumHeads { get; init; }
    /// <summary><c>num_key_value_heads</c>: the key/value heads each group of query heads shares (the book's <c>n_kv_groups</c>).</summary>
    public int NumKvHeads { get; init; }
    public int HeadDim { get; init; }
    /// <summary><c>max_position_embeddings</c>: the longest sequence the model takes.</summary>
    public int ContextLength { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Llama 3's frequency scaling, or null for plain RoPE.</summary>
    public Llama3RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c>: one id, or several (Llama 3 Instruct stops at any of three).</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }
    /// <summary><c>torch_dtype</c> as the file gives it ("bfloat16"): what the published weights are stored in.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>Qwen3's RMSNorm over each head's queries and keys before RoPE (<c>q_norm</c>, <c>k_norm</c>).</summary>
    public bool QkNorm => ModelType == Qwen3;

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => NumHeads / NumKvHeads;

    public const string Llama = "llama", Qwen3 = "qwen3";

    /// <summary>The model types this version builds, in messages' order.</summary>
    public static readonly IReadOnlyList<string> ModelTypes = [Llama, Qwen3];

    // ---- presets: the published sizes (each repository's config.json) ----

    static readonly Llama3RopeScaling Llama32Scaling = new(32.0, 1.0, 4.0, 8192);

    static LlamaConfig Llama32(int hidden, int layers, int heads, int headDim) => new()
    {
        ModelType = Llama, VocabSize = 128256, HiddenSize = hidden, IntermediateSize = 8192, NumLayers = layers,
        NumHeads = heads, NumKvHeads = 8, HeadDim = headDim, ContextLength = 131072, RmsNormEps = 1e-5,
        RopeTheta = 500000, RopeScaling = Llama32Scaling, TieWordEmbeddings = true,
        BosTokenId = 128000, EosTokenIds = [128001], TorchDtype = "bfloat16",
    };

    static LlamaConfig Qwen3Size(int hidden, int intermediate, int layers, int heads, bool tied) => new()
    {
        ModelType = Qwen3, VocabSize = 151936, HiddenSize = hidden, IntermediateSize = intermediate, NumLayers = layers,
        NumHeads = heads, NumKvHeads = 8, HeadDim = 128, ContextLength = 40960, RmsNormEps = 1e-6,
        RopeTheta = 1000000, TieWordEmbeddings = tied, BosTokenId = 151643, EosTokenIds = [151645], TorchDtype = "bfloat16",
    };

    /// <summary>
    /// Llama 3.2 1B and 3B (their heads tied to the embedding), Qwen3 0.6B, 1.7B and 4B (tied) and 8B (not tied),
    /// with the sizes of their published <c>config.json</c>.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, LlamaConfig> Presets = new Dictionary<string, LlamaConfig>
    {
        ["llama3.2-1b"] = Llama32(hidden: 2048, layers: 16, heads: 32, headDim: 64),
        ["llama3.2-3b"] = Llama32(hidden: 3072, layers: 28, heads: 24, headDim: 128),
        ["qwen3-0.6b"] = Qwen3Size(hidden: 1024, intermediate: 3072, layers: 28, heads: 16, tied: true),
        ["qwen3-1.7b"] = Qwen3Size(hidden: 2048, intermediate: 6144, layers: 28, heads: 16, tied: true),
        ["qwen3-4b"] = Qwen3Size(hidden: 2560, intermediate: 9728, layers: 36, heads: 32, tied: true),
        ["qwen3-8b"] = Qwen3Size(hidden: 4096, intermediate: 12288, layers: 36, heads: 32, tied: false),
    };

    /// <summary>The Hugging Face repository each preset's weights come from (Meta's are gated: they need a token).</summary>
    public static readonly IReadOnlyDictionary<string, string> PresetRepositories = new Dictionary<string, string>
    {
        ["llama3.2-1b"] = "meta-llama/Llama-3.2-1B",
        ["llama3.2-3b"] = "meta-llama/Llama-3.2-3B",
        ["qwen3-0.6b"] = "Qwen/Qwen3-0.6B",
        ["qwen3-1.7b"] = "Qwen/Qwen3-1.7B",
        ["qwen3-4b"] = "Qwen/Qwen3-4B",
        ["qwen3-8b"] = "Qwen/Qwen3-8B",
    };

    /// <summary>A preset by name (case-insensitive), or null.</summary>
    public static LlamaConfig? TryPreset(string name) =>
        Presets.TryGetValue(name.ToLowerInvariant(), out var config) ? config : null;

    // ---- reading config.json ----

    public static LlamaConfig Load(string path)
    {
        if (Directory.Exists(path)) throw new BadInputException($"{path}: is a directory, expected a config.json file");
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such config file");
        InputFile.RequireRegular(path, "a config.json file");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Reads a Hugging Face config (or a checkpoint's, which adds <c>architecture</c>, <c>tokenizer</c>, <c>lora</c>):
    /// each key once, each value of its kind; keys this model does not use are left alone.
    /// </summary>
    /// <param name="source">the file, named in every message.</param>
    public static LlamaConfig FromJson(string json, string source = "config.json")
    {
        using var document = JsonInput.Parse(json, source);
        var root = document.RootElement;
        var keys = ConfigKeys.Read(root, source);
        BadInputException Bad(string what) => new($"{source}: {what}");

        string modelType = keys.String("model_type")
            ?? throw Bad($"no 'model_type'; expected one of {string.Join(", ", ModelTypes)}");
        if (!ModelTypes.Contains(modelType))
            throw Bad($"'model_type' \"{modelType}\" is not one LlmForge builds as a Llama-family model ({string.Join(", ", ModelTypes)})");
        if (keys.String("architecture") is { } architecture && architecture != modelType)
            throw Bad($"'architecture' \"{architecture}\" disagrees with 'model_type' \"{modelType}\"");

        int Size(string key, int? fallback = null)
        {
            int? value = keys.Int(key, key) ?? fallback;
            if (value is null) throw Bad($"'{key}' is missing; expected a positive integer");
            if (value <= 0) throw Bad($"'{key}' must be a positive integer, got {value}");
            return value.Value;
        }
        double Positive(string key, double fallback)
        {
            double value = keys.Double(key, key) ?? fallback;
            if (!(value > 0) || !double.IsFinite(value)) throw Bad($"'{key}' must be a positive number, got {value}");
            return value;
        }
        void Unsupported(string key, string why)
        {
            if (keys.Bool(key) == true) throw Bad($"'{key}' true is not supported: {why}");
        }

        Unsupported("attention_bias", "the Llama 3 and Qwen3 models built here have no biases");
        Unsupported("mlp_bias", "the Llama 3 and Qwen3 models built here have no biases");
        Unsupported("use_sliding_window", "sliding-window attention is not implemented");
        if (keys.String("hidden_act") is { } activation && activation != "silu")
            throw Bad($"'hidden_act' \"{activation}\" is not supported; expected \"silu\" (SwiGLU)");

        int hidden = Size("hidden_size"), heads = Size("num_attention_heads");
        int kvHeads = Size("num_key_value_heads", heads); // Hugging Face's default: one key/value head per query head
        if (heads % kvHeads != 0)
            throw Bad($"'num_attention_heads' {heads} is not a multiple of 'num_key_value_heads' {kvHeads}");
        int? headDim = IsNull(root, "head_dim") ? null : keys.Int("head_dim", "head_dim");
        if (headDim is null && hidden % heads != 0)
            throw Bad($"'hidden_size' {hidden} is not a multiple of 'num_attention_heads' {heads}, and no 'head_dim' is given");
        headDim ??= hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0)
            throw Bad($"'head_dim' must be a positive even number (RoPE rotates pairs), got {headDim}");

        var config = new LlamaConfig
        {
            ModelType = modelType,
            VocabSize = Size("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Size("intermediate_size"),
            NumLayers = Size("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim.Value,
            // Hugging Face's defaults where a config leaves a key out.
            ContextLength = Size("max_position_embeddings", modelType == Qwen3 ? 32768 : 2048),
            RmsNormEps = Positive("rms_norm_eps", 1e-6),
            RopeTheta = Positive("rope_theta", 10000),
            RopeScaling = ReadRopeScaling(root, source),
            TieWordEmbeddings = keys.Bool("tie_word_embeddings") ?? false,
            BosTokenId = IsNull(root, "bos_token_id") ? null : keys.Int("bos_token_id", "bos_token_id"),
            EosTokenIds = ReadIds(root, "eos_token_id", source),
            TorchDtype = IsNull(root, "torch_dtype") ? null : keys.String("torch_dtype"),
        };
        Int128 count = config.ExactParameterCount();
        if (count > long.MaxValue)
            throw Bad($"these sizes give {(double)count:0.##e+0} parameters, more than a 64-bit count holds (and far more than any machine's memory)");
        return config;
    }

    static bool IsNull(JsonElement root, string key) =>
        !root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null;

    /// <summary><c>rope_scaling</c>: null, absent or <c>"default"</c> for plain RoPE; <c>"llama3"</c> with its four numbers.</summary>
    static Llama3RopeScaling? ReadRopeScaling(JsonElement root, string source)
    {
        if (IsNull(root, "rope_scaling")) return null;
        var node = root.GetProperty("rope_scaling");
        BadInputException Bad(string what) => new($"{source}: 'rope_scaling' {what}");
        if (node.ValueKind != JsonValueKind.Object) throw Bad($"must be an object or null, got {Short(node)}");
        var keys = ConfigKeys.Read(node, $"{source}: 'rope_scaling'");
        // Older configs call it "type".
        string? type = keys.String("rope_type") ?? keys.String("type");
        if (type is null) throw Bad("has no 'rope_type'; expected \"llama3\" or \"default\"");
        if (type == "default") return null;
        if (type != "llama3")
            throw Bad($"type \"{type}\" is not supported (llama3, default)");
        double Number(string key)
        {
            double value = keys.Double(key, key) ?? throw Bad($"has no '{key}', which rope_type \"llama3\" needs");
            if (!(value > 0) || !double.IsFinite(value)) throw Bad($"'{key}' must be a positive number, got {value}");
            return value;
        }
        double factor = Number("factor"), low = Number("low_freq_factor"), high = Number("high_freq_factor");
        if (high <= low) throw Bad($"'high_freq_factor' {high} must be greater than 'low_freq_factor' {low}");
        int original = keys.Int("original_max_position_embeddings", "original_max_position_embeddings")
            ?? throw Bad("has no 'original_max_position_embeddings', which rope_type \"llama3\" needs");
        if (original <= 0) throw Bad($"'original_max_position_embeddings' must be a positive integer, got {original}");
        return new Llama3RopeScaling(factor, low, high, original);
    }

    /// <summary>A token id or a list of them (<c>eos_token_id</c>); null when absent.</summary>
    static int[]? ReadIds(JsonElement root, string key, string source)
    {
        if (IsNull(root, key)) return null;
        var node = root.GetProperty(key);
        var items = node.ValueKind == JsonValueKind.Array ? node.EnumerateArray().ToList() : [node];
        return items.Select(item => item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out int id) && id >= 0 ? id
            : throw new BadInputException($"{source}: '{key}' must be a token id or a list of them, got {Short(node)}")).ToArray();
    }

    static string Short(JsonElement node)
    {
        string raw = node.GetRawText();
        return raw.Length > 40 ? raw[..37] + "..." : raw;
    }

    // ---- writing ----

    /// <summary>The Hugging Face keys, as <c>config.json</c> of the family's repositories holds them.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType == Qwen3 ? "Qwen3ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumLayers,
            ["num_attention_heads"] = NumHeads,
            ["num_key_value_heads"] = NumKvHeads,
            ["head_dim"] = HeadDim,
            ["max_position_embeddings"] = ContextLength,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling?.ToJson(),
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["hidden_act"] = "silu",
            ["attention_bias"] = false,
        };
        if (ModelType == Llama) json["mlp_bias"] = false;
        if (BosTokenId is int bos) json["bos_token_id"] = bos;
        if (EosTokenIds is { Count: > 0 } eos)
            json["eos_token_id"] = eos.Count == 1 ? eos[0] : new JsonArray(eos.Select(id => (JsonNode?)id).ToArray());
        if (TorchDtype != null) json["torch_dtype"] = TorchDtype;
        return json;
    }

    // ---- sizes ----

    /// <summary>Parameters of the model: embedding, blocks, final norm, and the output head unless it is tied.</summary>
    /// <exception cref="OverflowException">the count exceeds a long (<see cref="FromJson"/> refuses such configs).</exception>
    public long ParameterCount() => checked((long)ExactParameterCount());

    /// <summary>The count in 128 bits: each size is an int, so their products fit.</summary>
    internal Int128 ExactParameterCount()
    {
        Int128 d = HiddenSize, queries = (Int128)NumHeads * HeadDim, keys = (Int128)NumKvHeads * HeadDim;
        Int128 attention = d * queries + 2 * d * keys + queries * d + (QkNorm ? 2 * HeadDim : 0);
        Int128 feedForward = 3 * d * IntermediateSize;
        Int128 block = attention + feedForward + 2 * d;
        Int128 embedding = (Int128)VocabSize * d;
        return embedding + NumLayers * block + d + (TieWordEmbeddings ? 0 : embedding);
    }
}
