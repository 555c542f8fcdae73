using System.Text.Json.Nodes;
using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// Chapter 4's GPT model: token and position embeddings, dropout, the transformer blocks, a final
/// layer norm, and an output head (no bias) that turns each position's vector into logits over the
/// vocabulary. Parameter names are the book's (<c>tok_emb.weight</c>, <c>trf_blocks.0.att.W_query.weight</c>, ...).
/// A classifier (chapter 6) is the same model with its head replaced (<see cref="ReplaceOutputHead"/>) and its
/// class names in <see cref="Labels"/>; LoRA (appendix E) wraps its linear layers (<see cref="LoRA"/>).
/// </summary>
public sealed class GptModel : nn.Module<Tensor, Tensor>, IClassifierModel, ILinearSlots
{
#pragma warning disable IDE1006 // the book's names
    public readonly Embedding tok_emb, pos_emb;
    readonly Dropout drop_emb;
    public readonly ModuleList<TransformerBlock> trf_blocks;
    public readonly LayerNorm final_norm;
#pragma warning restore IDE1006

    // The output head: vocabulary logits, or a task's (two classes for spam) after ReplaceOutputHead;
    // a wrapper of either (LoRA) through the slot. Registered under its field name, the book's.
#pragma warning disable IDE1006
    nn.Module<Tensor, Tensor> out_head;
#pragma warning restore IDE1006

    public GptModel(GptConfig config) : base(nameof(GptModel))
    {
        Config = config;
        // Refused here, before any tensor: libtorch would fail inside its allocator with a native trace.
        MemoryBudget.Require(MemoryBudget.WeightBytes(config),
            $"the model's fp32 weights ({config.NLayers} layers, emb_dim {config.EmbDim}, context_length {config.ContextLength}, vocab_size {config.VocabSize}: {(double)config.ExactParameterCount():N0} parameters)");
        tok_emb = nn.Embedding(config.VocabSize, config.EmbDim);
        pos_emb = nn.Embedding(config.ContextLength, config.EmbDim);
        drop_emb = nn.Dropout(config.DropRate);
        trf_blocks = nn.ModuleList(Enumerable.Range(0, config.NLayers).Select(_ => new TransformerBlock(config)).ToArray());
        final_norm = new LayerNorm(config.EmbDim);
        out_head = nn.Linear(config.EmbDim, config.VocabSize, hasBias: false);
        RegisterComponents();
    }

    public GptConfig Config { get; }

    /// <summary>Chooses libtorch's fused attention (default) or the explicit mask-and-softmax path in every block.</summary>
    public bool UseFusedAttention
    {
        get => trf_blocks[0].att.UseFusedAttention;
        set
        {
            foreach (var block in trf_blocks) block.att.UseFusedAttention = value;
        }
    }

    public KvCache NewKvCache() => new(Config.NLayers, Config.ContextLength);

    /// <summary>A cache for <paramref name="capacity"/> positions (at most the context): generation needs only prompt + new tokens.</summary>
    public KvCache NewKvCache(int capacity) => new(Config.NLayers, Math.Min(capacity, Config.ContextLength));

    /// <summary>Logits <c>[B, T, vocab]</c> for token ids <c>[B, T]</c>.</summary>
    public override Tensor forward(Tensor idx) => forward(idx, null);

    /// <summary>Logits for <paramref name="idx"/>, which continue the tokens already in <paramref name="cache"/>.</summary>
    public Tensor forward(Tensor idx, KvCache? cache)
    {
        // A decoding step (one new token a sequence) on raw memory where it applies: the same numbers, far fewer calls.
        if (cache != null && GptDecodeStep.TryForward(this, idx, cache) is { } logits) return logits;
        using var scope = NewDisposeScope();
        var positions = KvCache.Positions(cache, idx.shape[1], Config.ContextLength, idx.device);
        var x = drop_emb.forward(tok_emb.forward(idx) + pos_emb.forward(positions));
        for (int i = 0; i < trf_blocks.Count; i++)
            x = trf_blocks[i].forward(x, cache?[i]);
        return DecodeLinear.Forward(out_head, final_norm.forward(x)).MoveToOuterDisposeScope();
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());

    const string OutHead = nameof(out_head);

    /// <summary>The output head's weight <c>[outputs, emb_dim]</c> (inside a wrapper, the wrapped layer's).</summary>
    public Tensor OutHeadWeight
    {
        get
        {
            // The head itself, or the layer a wrapper keeps as "linear" (the book's LinearWithLoRA).
            var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
            return parameters.GetValueOrDefault(OutHead + ".weight") ?? parameters.GetValueOrDefault(OutHead + ".linear.weight")
                ?? throw new InvalidOperationException("the output head holds no 'weight' or 'linear.weight'");
        }
    }

    /// <summary>
    /// Puts <paramref name="head"/> in place of the output head (chapter 6: a linear layer to the classes).
    /// Its parameters keep the name <c>out_head.*</c>, so checkpoints of the new model load by the book's names.
    /// </summary>
    /// <param name="labels">the name of each output (class index order: <c>ham</c>, <c>spam</c>), kept with the model; null for none.</param>
    public void ReplaceOutputHead(Linear head, IReadOnlyList<string>? labels = null)
    {
        if (head.weight!.shape[1] != Config.EmbDim)
            throw new ArgumentException($"the new head takes {head.weight.shape[1]} inputs, the model's embedding has {Config.EmbDim}");
        CheckLabels(labels, head.weight.shape[0]);
        var old = out_head;
        SetSlot(OutHead, head);
        old.Dispose();
        _labels = labels?.ToArray();
    }

    string[]? _labels;

    /// <summary>
    /// How a classifier reads a text, as it was trained: its ids cut or padded (with the pad id) to
    /// <c>PaddedLength</c>, and the head reading the <c>last</c> position or the <c>mean</c> over the real
    /// tokens. Null for a language model. Written in <c>config.json</c>'s <c>output_head</c>.
    /// </summary>
    public (int PaddedLength, string Pooling)? ClassifierInput { get; set; }

    /// <summary>
    /// The prompt format an instruction-tuned model was trained on (<c>alpaca</c>), so that <c>respond</c> and
    /// the server apply it unasked; null for a base model. Written in <c>config.json</c> as <c>prompt_format</c>.
    /// </summary>
    public string? PromptFormat { get; set; }

    /// <summary>
    /// The classes' names, one per output in class-index order (a classifier's), or null (a language model,
    /// or a class head whose names are not known yet). Set with the head or later; written in <c>config.json</c>.
    /// </summary>
    public IReadOnlyList<string>? Labels
    {
        get => _labels;
        set
        {
            CheckLabels(value, OutputSize);
            _labels = value?.ToArray();
        }
    }

    static void CheckLabels(IReadOnlyList<string>? labels, long outputs) => ClassHead.CheckLabels(labels, outputs);

    public int HiddenSize => Config.EmbDim;

    public int BlockCount => Config.NLayers;

    /// <summary>The head's linear layer: the head itself, or the layer a LoRA wrapper keeps.</summary>
    Linear? HeadLinear => out_head as Linear ?? (out_head as LinearWithLoRA)?.linear;

    /// <summary>The output head as it is (a Linear, or a wrapper of one), for a decoding step on raw memory (<see cref="GptDecodeStep"/>).</summary>
    internal nn.Module<Tensor, Tensor> OutputHead => out_head;

    /// <summary>Whether the head is the vocabulary head the model was built with (no bias, vocabulary-wide), wrapped or not.</summary>
    public bool HasVocabularyHead => HeadLinear is { bias: null } linear && linear.weight!.shape[0] == Config.VocabSize;

    public IReadOnlyList<string> LinearSlots { get; } = [OutHead];

    public nn.Module<Tensor, Tensor> GetSlot(string name) =>
        name == OutHead ? out_head : throw new ArgumentException($"no linear slot '{name}' in the GPT model");

    public void SetSlot(string name, nn.Module<Tensor, Tensor> module)
    {
        _ = GetSlot(name);
        out_head = module;
        LinearWrapping.Reregister(this, OutHead, module);
    }

    // ---- the model contract ----

    public string Architecture => "gpt2";

    public int ContextLength => Config.ContextLength;

    public int OutputSize => (int)OutHeadWeight.size(0);

    nn.Module ILanguageModel.Module => this;

    KvCache ILanguageModel.NewKvCache(int capacity) => NewKvCache(capacity);

    public JsonObject ConfigJson()
    {
        var json = Config.ToJson();
        json["architecture"] = Architecture;
        if (!HasVocabularyHead || _labels != null) json["output_head"] = ClassHead.Json(OutputSize, HeadHasBias, _labels, ClassifierInput);
        if (PromptFormat != null) json["prompt_format"] = PromptFormat;
        // The adapters' settings: the loader wraps the same layers before it reads X.lora.A and X.lora.B.
        if (LoRA.Settings(this) is var (rank, alpha))
            json["lora"] = new JsonObject { ["rank"] = rank, ["alpha"] = alpha };
        return json;
    }

    bool HeadHasBias => named_parameters().Any(p => p.name is OutHead + ".bias" or OutHead + ".linear.bias");

    public Device Device => tok_emb.weight!.device;

    public double KvCacheBytes(long positions) => MemoryBudget.KvCacheBytes(Config, positions, (int)tok_emb.weight!.ElementSize);

    public double ForwardBytes(long tokens) => MemoryBudget.ForwardBytes(Config, tokens);

    public ILanguageModel NewOfSameShape() => NewOfSameShape(Config);

    /// <summary>A model shaped like this one (head, labels, wrapped layers) built from <paramref name="config"/>, such as another dropout rate.</summary>
    public GptModel NewOfSameShape(GptConfig config)
    {
        var copy = new GptModel(config) { ClassifierInput = ClassifierInput, PromptFormat = PromptFormat };
        if (!HasVocabularyHead || _labels != null) copy.ReplaceOutputHead(nn.Linear(Config.EmbDim, OutputSize, hasBias: HeadHasBias), _labels);
        // The same layers wrapped, so the copy's parameters have the same names (mixed precision pairs them by name).
        if (LoRA.Settings(this) is var (rank, alpha))
        {
            var wrapped = LoRA.WrappedPaths(this).ToHashSet(StringComparer.Ordinal);
            LoRA.Apply(copy, rank, alpha, wrapped.Contains);
        }
        return copy;
    }
}
