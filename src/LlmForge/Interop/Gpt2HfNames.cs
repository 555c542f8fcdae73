namespace LlmForge.Interop;

/// <summary>
/// How Hugging Face GPT-2 names the book model's tensors, in the order of OpenAI's
/// <c>model.safetensors</c>: the one table that loading (<see cref="WeightLayout.HuggingFace"/>) reads
/// forward and export (<see cref="HfGpt2Export"/>) reads backward.
/// </summary>
public static class Gpt2HfNames
{
    /// <summary>How a Hugging Face tensor holds its book parameter(s).</summary>
    public enum Storage
    {
        /// <summary>As it is.</summary>
        Same,
        /// <summary>A Conv1D weight: stored [in, out], the transpose of Linear's [out, in].</summary>
        Transposed,
        /// <summary>GPT-2's <c>c_attn</c>: query, key and value joined along the output dimension (a weight also transposed, as Conv1D).</summary>
        Fused,
        /// <summary>The causal-mask buffer: no parameter; export writes it, loading ignores it.</summary>
        MaskBuffer,
    }

    /// <summary>One Hugging Face tensor and the book parameter(s) it holds (in <c>c_attn</c>'s order for <see cref="Storage.Fused"/>).</summary>
    public sealed record Entry(string Hf, string[] Book, Storage Storage = Storage.Same);

    /// <summary>Before the blocks (Hugging Face names without <c>transformer.</c>).</summary>
    public static readonly IReadOnlyList<Entry> Embeddings =
    [
        new("wte.weight", ["tok_emb.weight"]),
        new("wpe.weight", ["pos_emb.weight"]),
    ];

    /// <summary>Each block's tensors, named after <c>h.N.</c> (Hugging Face) and <c>trf_blocks.N.</c> (book).</summary>
    public static readonly IReadOnlyList<Entry> Block =
    [
        new("ln_1.weight", ["norm1.scale"]),
        new("ln_1.bias", ["norm1.shift"]),
        new("attn.c_attn.weight", ["att.W_query.weight", "att.W_key.weight", "att.W_value.weight"], Storage.Fused),
        new("attn.c_attn.bias", ["att.W_query.bias", "att.W_key.bias", "att.W_value.bias"], Storage.Fused),
        new("attn.c_proj.weight", ["att.out_proj.weight"], Storage.Transposed),
        new("attn.c_proj.bias", ["att.out_proj.bias"]),
        new("attn.bias", [], Storage.MaskBuffer),
        new("ln_2.weight", ["norm2.scale"]),
        new("ln_2.bias", ["norm2.shift"]),
        new("mlp.c_fc.weight", ["ff.layers.0.weight"], Storage.Transposed),
        new("mlp.c_fc.bias", ["ff.layers.0.bias"]),
        new("mlp.c_proj.weight", ["ff.layers.2.weight"], Storage.Transposed),
        new("mlp.c_proj.bias", ["ff.layers.2.bias"]),
    ];

    /// <summary>After the blocks.</summary>
    public static readonly IReadOnlyList<Entry> Final =
    [
        new("ln_f.weight", ["final_norm.scale"]),
        new("ln_f.bias", ["final_norm.shift"]),
    ];

    /// <summary>
    /// An output head of its own (never under <c>transformer.</c>); absent when tied to <c>wte.weight</c>,
    /// as in OpenAI's files.
    /// </summary>
    public static readonly Entry OutputHead = new("lm_head.weight", ["out_head.weight"]);

    /// <summary>A second mask buffer that older <c>transformers</c> versions saved in each block; never written.</summary>
    public const string OldMaskBuffer = "attn.masked_bias";

    /// <summary>Whether <paramref name="hfName"/> is a block's mask buffer rather than a parameter.</summary>
    public static bool IsMaskBuffer(string hfName) =>
        hfName.EndsWith("." + OldMaskBuffer, StringComparison.Ordinal)
        || Block.Any(e => e.Storage == Storage.MaskBuffer && hfName.EndsWith("." + e.Hf, StringComparison.Ordinal));

    /// <summary>The entry holding the book parameter <paramref name="bookName"/> (a block's without its <c>trf_blocks.N.</c>), and its place among the entry's parameters.</summary>
    public static (Entry Entry, int Part)? Find(IEnumerable<Entry> entries, string bookName)
    {
        foreach (var entry in entries)
        {
            int part = Array.IndexOf(entry.Book, bookName);
            if (part >= 0) return (entry, part);
        }
        return null;
    }
}
