using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Model;

/// <summary>
/// The GPT model's hyperparameters, with the book's names (<c>GPT_CONFIG_124M</c>). JSON files may use
/// the book's keys (<c>vocab_size</c>, <c>context_length</c>, <c>emb_dim</c>, <c>n_heads</c>, <c>n_layers</c>,
/// <c>drop_rate</c>, <c>qkv_bias</c>) or Hugging Face GPT-2's (<c>n_positions</c>, <c>n_embd</c>, <c>n_head</c>, <c>n_layer</c>).
/// </summary>
public sealed record GptConfig
{
    public int VocabSize { get; init; } = 50257;
    public int ContextLength { get; init; } = 1024;
    public int EmbDim { get; init; } = 768;
    public int NHeads { get; init; } = 12;
    public int NLayers { get; init; } = 12;
    public double DropRate { get; init; } = 0.1;
    public bool QkvBias { get; init; } = false;

    public int HeadDim => EmbDim / NHeads;

    /// <summary>
    /// The book's GPT-2 sizes with its training defaults (drop_rate 0.1, qkv_bias false); loading
    /// OpenAI's weights takes qkv_bias true from their file, as the book's chapter 5 does.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, GptConfig> Presets = new Dictionary<string, GptConfig>
    {
        ["gpt2-small"] = new() { EmbDim = 768, NLayers = 12, NHeads = 12 },
        ["gpt2-medium"] = new() { EmbDim = 1024, NLayers = 24, NHeads = 16 },
        ["gpt2-large"] = new() { EmbDim = 1280, NLayers = 36, NHeads = 20 },
        ["gpt2-xl"] = new() { EmbDim = 1600, NLayers = 48, NHeads = 25 },
    };

    /// <summary>A preset by name; <c>124M</c>-style names are accepted too.</summary>
    public static GptConfig Preset(string name)
    {
        string key = name switch
        {
            "124M" or "gpt2" => "gpt2-small",
            "355M" => "gpt2-medium",
            "774M" => "gpt2-large",
            "1558M" => "gpt2-xl",
            _ => name,
        };
        return Presets.TryGetValue(key, out var config) ? config
            : throw new BadInputException($"unknown preset '{name}': expected one of {string.Join(", ", Presets.Keys.Concat(Llama.LlamaConfig.Presets.Keys))}");
    }

    /// <summary>Checks the numbers fit together; <paramref name="source"/> names the file in the message.</summary>
    public GptConfig Validated(string source)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw new BadInputException($"{source}: {what}");
        }
        Require(VocabSize > 0, $"vocab_size must be positive, got {VocabSize}");
        Require(ContextLength > 0, $"context_length must be positive, got {ContextLength}");
        Require(EmbDim > 0, $"emb_dim must be positive, got {EmbDim}");
        Require(NHeads > 0 && EmbDim % NHeads == 0, $"emb_dim {EmbDim} must be a multiple of n_heads {NHeads}");
        Require(NLayers > 0, $"n_layers must be positive, got {NLayers}");
        Require(DropRate is >= 0 and < 1, $"drop_rate must be in [0, 1), got {DropRate}");
        // Each size fits an int, but their products need not fit a long: refuse rather than report a wrapped count.
        Int128 count = ExactParameterCount(includeOutputHead: true);
        Require(count <= long.MaxValue, $"these sizes give {(double)count:0.##e+0} parameters, more than a 64-bit count holds (and far more than any machine's memory)");
        return this;
    }

    public static GptConfig Load(string path)
    {
        if (Directory.Exists(path)) throw new BadInputException($"{path}: is a directory, expected a config JSON file");
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such config file");
        InputFile.RequireRegular(path, "a config JSON file");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Reads a config, strictly: a key given twice, or a value of the wrong kind (<c>"qkv_bias": "yes"</c>), is
    /// refused with the file and key named, rather than one of the two values winning silently.
    /// </summary>
    public static GptConfig FromJson(string json, string source = "config")
    {
        using var document = JsonInput.Parse(json, source);
        return FromKeys(ConfigKeys.Read(document.RootElement, source), source);
    }

    static GptConfig FromKeys(ConfigKeys keys, string source)
    {
        if (!keys.Has("emb_dim") && !keys.Has("n_embd"))
            throw new BadInputException($"{source}: not a model config (no emb_dim or n_embd)");
        // Read and checked here though ModelLoader uses it: a wrong type would otherwise fail later without the file's name.
        keys.String("tokenizer");
        var defaults = new GptConfig();
        var config = new GptConfig
        {
            VocabSize = keys.Int("vocab_size", "vocab_size") ?? defaults.VocabSize,
            ContextLength = keys.Int("context_length", "n_positions") ?? defaults.ContextLength,
            EmbDim = keys.Int("emb_dim", "n_embd") ?? defaults.EmbDim,
            NHeads = keys.Int("n_heads", "n_head") ?? defaults.NHeads,
            NLayers = keys.Int("n_layers", "n_layer") ?? defaults.NLayers,
            DropRate = keys.Double("drop_rate", "resid_pdrop") ?? defaults.DropRate,
            // Hugging Face GPT-2 always has query/key/value biases.
            QkvBias = keys.Bool("qkv_bias") ?? keys.Has("n_embd"),
        };
        return config.Validated(source);
    }

    /// <summary>The book's keys, as written into native checkpoints.</summary>
    public JsonObject ToJson() => new()
    {
        ["vocab_size"] = VocabSize,
        ["context_length"] = ContextLength,
        ["emb_dim"] = EmbDim,
        ["n_heads"] = NHeads,
        ["n_layers"] = NLayers,
        ["drop_rate"] = DropRate,
        ["qkv_bias"] = QkvBias,
    };

    /// <summary>Parameters of the book's model: embeddings, blocks, final norm, and an untied output head.</summary>
    /// <exception cref="OverflowException">the count exceeds a long (<see cref="Validated"/> refuses such configs).</exception>
    public long ParameterCount(bool includeOutputHead = true) => checked((long)ExactParameterCount(includeOutputHead));

    /// <summary>The count without overflow, for sizes whose product exceeds 64 bits (each size is an int, so 128 bits hold it).</summary>
    internal Int128 ExactParameterCount(bool includeOutputHead = true)
    {
        Int128 e = EmbDim;
        Int128 attention = 3 * (e * e + (QkvBias ? e : 0)) + e * e + e;
        Int128 feedForward = e * 4 * e + 4 * e + 4 * e * e + e;
        Int128 norms = 2 * 2 * e;
        Int128 blocks = NLayers * (attention + feedForward + norms);
        Int128 embeddings = VocabSize * e + ContextLength * e;
        Int128 head = includeOutputHead ? VocabSize * e : 0;
        return embeddings + blocks + 2 * e + head;
    }
}
