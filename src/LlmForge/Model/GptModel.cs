using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmForge.Model;

/// <summary>
/// Chapter 4's GPT model: token and position embeddings, dropout, the transformer blocks, a final
/// layer norm, and an output head (no bias) that turns each position's vector into logits over the
/// vocabulary. Parameter names are the book's (<c>tok_emb.weight</c>, <c>trf_blocks.0.att.W_query.weight</c>, ...).
/// </summary>
public sealed class GptModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names
    public readonly Embedding tok_emb, pos_emb;
    readonly Dropout drop_emb;
    public readonly ModuleList<TransformerBlock> trf_blocks;
    public readonly LayerNorm final_norm;
    public readonly Linear out_head;
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
        using var scope = NewDisposeScope();
        long tokens = idx.shape[1], past = cache?.Length ?? 0;
        if (past + tokens > Config.ContextLength)
            throw new ArgumentException($"{past + tokens} positions exceed the model's context length of {Config.ContextLength}");
        var positions = arange(past, past + tokens, dtype: ScalarType.Int64, device: idx.device);
        var x = drop_emb.forward(tok_emb.forward(idx) + pos_emb.forward(positions));
        for (int i = 0; i < trf_blocks.Count; i++)
            x = trf_blocks[i].forward(x, cache?[i]);
        return out_head.forward(final_norm.forward(x)).MoveToOuterDisposeScope();
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
