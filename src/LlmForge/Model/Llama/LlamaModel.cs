using System.Text.Json.Nodes;
using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// The Llama 3 and Qwen3 models of the book's bonus chapters, built from chapter 4's GPT: a token embedding
/// (no learned positions: <see cref="RotaryEmbedding"/> turns queries and keys instead), blocks of RMSNorm,
/// grouped-query attention and SwiGLU (<see cref="LlamaBlock"/>), a final RMSNorm and an output head without
/// bias, which Llama 3.2 and the small Qwen3 models tie to the token embedding (the same matrix read twice).
/// Parameter names are the book's (<c>tok_emb.weight</c>, <c>trf_blocks.0.att.W_query.weight</c>,
/// <c>trf_blocks.0.ff.fc1.weight</c>, <c>final_norm.scale</c>, <c>out_head.weight</c>); <c>LlamaHfNames</c>
/// maps them to Hugging Face's. The weights are made in the dtype asked for (fp32, or bf16 to halve the memory).
/// </summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>, IClassifierModel, ILinearSlots
{
#pragma warning disable IDE1006 // the book's names
    public readonly TokenEmbedding tok_emb;
    public readonly ModuleList<LlamaBlock> trf_blocks;
    public readonly RmsNorm final_norm;
    // Null when tied: the logits are then read off tok_emb's matrix. Otherwise a Linear, or a wrapper of one (LoRA).
    nn.Module<Tensor, Tensor>? out_head;
#pragma warning restore IDE1006
    readonly RotaryEmbedding _rope;

    /// <param name="initialize">
    /// draw the weights as Hugging Face initialises these models (for training from scratch); false leaves them
    /// uninitialised, for a loader that fills every one of them at once.
    /// </param>
    public LlamaModel(LlamaConfig config, ScalarType dtype = ScalarType.Float32, bool initialize = true) : base(nameof(LlamaModel))
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"a Llama-family model computes in fp32, bf16 or fp16, not {dtype}");
        Config = config;
        // Refused here, before any tensor: libtorch would fail inside its allocator with a native trace.
        MemoryBudget.Require((double)config.ExactParameterCount() * ElementSize(dtype),
            $"the model's {DTypeName(dtype)} weights ({config.ModelType}, {config.NumLayers} layers, hidden_size {config.HiddenSize}, vocab_size {config.VocabSize}: {(double)config.ExactParameterCount():N0} parameters)");
        var layers = new LayerFactory(dtype, initialize);
        _rope = new RotaryEmbedding(config.HeadDim, config.ContextLength, config.RopeTheta, config.RopeScaling);
        tok_emb = layers.Embedding(config.VocabSize, config.HiddenSize);
        trf_blocks = nn.ModuleList(Enumerable.Range(0, config.NumLayers).Select(_ => new LlamaBlock(config, _rope, layers)).ToArray());
        final_norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype);
        out_head = config.TieWordEmbeddings ? null : layers.Linear(config.HiddenSize, config.VocabSize);
        RegisterComponents();
        LinearSlots = out_head is null ? [] : [OutHead];
    }

    // ---- a class head (chapter 6): the same model, its head replaced by one to the classes ----

    /// <summary>Classes of a replaced head; null while the head is the vocabulary's (tied or not).</summary>
    int? _classes;
    string[]? _labels;

    public int HiddenSize => Config.HiddenSize;

    public int BlockCount => Config.NumLayers;

    public bool HasVocabularyHead => _classes is null;

    /// <summary>
    /// Puts <paramref name="head"/> (converted to the model's dtype) in place of the vocabulary head; a tied head
    /// stops reading the embedding. Its parameters are named <c>out_head.*</c>, as in the GPT.
    /// </summary>
    public void ReplaceOutputHead(Linear head, IReadOnlyList<string>? labels = null)
    {
        if (head.weight!.shape[1] != Config.HiddenSize)
            throw new ArgumentException($"the new head takes {head.weight.shape[1]} inputs, the model's hidden size is {Config.HiddenSize}");
        ClassHead.CheckLabels(labels, head.weight.shape[0]);
        head.to(DType);
        var old = out_head;
        out_head = head;
        LinearWrapping.Reregister(this, OutHead, head);
        old?.Dispose();
        LinearSlots = [OutHead];
        _classes = (int)head.weight.shape[0];
        _labels = labels?.ToArray();
    }

    public IReadOnlyList<string>? Labels
    {
        get => _labels;
        set
        {
            ClassHead.CheckLabels(value, OutputSize);
            _labels = value?.ToArray();
        }
    }

    public (int PaddedLength, string Pooling)? ClassifierInput { get; set; }

    bool HeadHasBias => named_parameters().Any(p => p.name is OutHead + ".bias" or OutHead + ".linear.bias");

    public LlamaConfig Config { get; }

    /// <summary>The dtype of the weights (and of the activations and logits).</summary>
    public ScalarType DType => tok_emb.weight.dtype;

    /// <summary>Chooses libtorch's fused attention (default) or the explicit mask-and-softmax path in every block.</summary>
    public bool UseFusedAttention
    {
        get => trf_blocks[0].att.UseFusedAttention;
        set
        {
            foreach (var block in trf_blocks) block.att.UseFusedAttention = value;
        }
    }

    /// <summary>Logits <c>[B, T, vocab]</c> for token ids <c>[B, T]</c>.</summary>
    public override Tensor forward(Tensor ids) => forward(ids, null);

    /// <summary>Logits for <paramref name="ids"/>, which continue the tokens already in <paramref name="cache"/>.</summary>
    public Tensor forward(Tensor ids, KvCache? cache)
    {
        // A decoding step (one new token a sequence) on raw memory where it applies: the same numbers, far fewer calls.
        if (cache != null && LlamaDecodeStep.TryForward(this, ids, cache) is { } logits) return logits;
        using var scope = NewDisposeScope();
        KvCache.RequireFits(cache, ids.shape[1], Config.ContextLength);
        var x = tok_emb.forward(ids);
        for (int i = 0; i < trf_blocks.Count; i++)
            x = trf_blocks[i].forward(x, cache?[i]);
        x = final_norm.forward(x);
        var result = out_head is null ? DecodeLinear.Forward(tok_emb.weight, null, x) : DecodeLinear.Forward(out_head, x);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The output head as it is (null when tied to the embedding) and the rotary tables, for a decoding step on raw memory (<see cref="LlamaDecodeStep"/>).</summary>
    internal (nn.Module<Tensor, Tensor>? Head, RotaryEmbedding Rope) DecodeParts => (out_head, _rope);

    public long ParameterCount() => parameters().Sum(p => p.numel());

    const string OutHead = nameof(out_head);

    // ---- linear slots: the head when it is a layer of its own (a tied head is the embedding, no layer) ----

    public IReadOnlyList<string> LinearSlots { get; private set; }

    public nn.Module<Tensor, Tensor> GetSlot(string name) =>
        name == OutHead && out_head != null ? out_head
        : throw new ArgumentException($"no linear slot '{name}' in the {Config.ModelType} model{(out_head is null ? " (its output head is tied to the token embedding)" : "")}");

    public void SetSlot(string name, nn.Module<Tensor, Tensor> module)
    {
        _ = GetSlot(name);
        out_head = module;
        LinearWrapping.Reregister(this, OutHead, module);
    }

    // ---- the model contract ----

    public string Architecture => Config.ModelType;

    public int ContextLength => Config.ContextLength;

    public int OutputSize => _classes ?? Config.VocabSize;

    nn.Module ILanguageModel.Module => this;

    public KvCache NewKvCache(int capacity) => new(Config.NumLayers, Math.Min(capacity, Config.ContextLength));

    /// <summary>Hugging Face's keys (<see cref="LlamaConfig.ToJson"/>), <c>architecture</c>, and the adapters' settings when wrapped.</summary>
    public JsonObject ConfigJson()
    {
        var json = Config.ToJson();
        json["architecture"] = Architecture;
        if (PromptFormat != null) json["prompt_format"] = PromptFormat;
        if (_classes is int classes) json["output_head"] = ClassHead.Json(classes, HeadHasBias, _labels, ClassifierInput);
        // The loader wraps the same layers before it reads X.lora.A and X.lora.B.
        if (LoRA.Settings(this) is var (rank, alpha))
            json["lora"] = new JsonObject { ["rank"] = rank, ["alpha"] = alpha };
        return json;
    }

    public Device Device => tok_emb.weight.device;

    public string? PromptFormat { get; set; }

    /// <summary>Keys and values of the key/value heads only (the cache never holds the repeated ones).</summary>
    public double KvCacheBytes(long positions) =>
        2.0 * Config.NumLayers * positions * Config.NumKvHeads * Config.HeadDim * ElementSize(DType);

    /// <summary>The logits and their log-softmax (fp32), and the SwiGLU's gate, up and gated vectors per token.</summary>
    public double ForwardBytes(long tokens) =>
        (double)tokens * (2.0 * Config.VocabSize * sizeof(float) + 3.0 * Config.IntermediateSize * ElementSize(DType));

    public ILanguageModel NewOfSameShape() => NewOfSameShape(DType);

    /// <summary>A model of the same config and wrapped layers (fresh weights) in <paramref name="dtype"/>.</summary>
    public LlamaModel NewOfSameShape(ScalarType dtype)
    {
        var copy = new LlamaModel(Config, dtype);
        // The same head first, so that LoRA wraps the same layers and the names pair up.
        if (_classes is int classes)
        {
            copy.ReplaceOutputHead(nn.Linear(Config.HiddenSize, classes, hasBias: HeadHasBias), _labels);
            copy.ClassifierInput = ClassifierInput;
        }
        // The same layers wrapped, so the copy's parameters have the same names (mixed precision pairs them by name).
        if (LoRA.Settings(this) is var (rank, alpha))
        {
            var wrapped = LoRA.WrappedPaths(this).ToHashSet(StringComparer.Ordinal);
            LoRA.Apply(copy, rank, alpha, wrapped.Contains);
        }
        copy.UseFusedAttention = UseFusedAttention;
        copy.PromptFormat = PromptFormat;
        return copy;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Bytes per weight: 4 for fp32, 2 for bf16 and fp16.</summary>
    public static int ElementSize(ScalarType dtype) => dtype == ScalarType.Float32 ? 4 : 2;

    /// <summary>"fp32", "bf16", "fp16", as messages and options name them.</summary>
    public static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "fp16",
        _ => "fp32",
    };
}
