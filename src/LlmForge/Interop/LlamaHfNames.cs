namespace LlmForge.Interop;

/// <summary>
/// How Hugging Face's Llama and Qwen3 checkpoints name the tensors of <see cref="Model.Llama.LlamaModel"/>
/// (whose names are the book's): the one table that loading reads forward and export reads backward. Every
/// tensor is stored as the parameter is (Hugging Face's Linear layers are <c>[out, in]</c> too), so the table is
/// names only, in the order the published files list them.
/// </summary>
public static class LlamaHfNames
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string OutputHead = "lm_head.weight";

    /// <summary>Each block's tensors: Hugging Face's name after <c>model.layers.N.</c>, the book's after <c>trf_blocks.N.</c>.</summary>
    public static readonly IReadOnlyList<(string Hf, string Book)> Block =
    [
        ("self_attn.q_proj.weight", "att.W_query.weight"),
        ("self_attn.k_proj.weight", "att.W_key.weight"),
        ("self_attn.v_proj.weight", "att.W_value.weight"),
        ("self_attn.o_proj.weight", "att.out_proj.weight"),
        ("self_attn.q_norm.weight", "att.q_norm.scale"), // Qwen3 only
        ("self_attn.k_norm.weight", "att.k_norm.scale"), // Qwen3 only
        ("mlp.gate_proj.weight", "ff.fc1.weight"),
        ("mlp.up_proj.weight", "ff.fc2.weight"),
        ("mlp.down_proj.weight", "ff.fc3.weight"),
        ("input_layernorm.weight", "norm1.scale"),
        ("post_attention_layernorm.weight", "norm2.scale"),
    ];

    /// <summary>The Hugging Face name of a model parameter (<c>trf_blocks.3.ff.fc1.weight</c> -> <c>model.layers.3.mlp.gate_proj.weight</c>).</summary>
    public static string ToHf(string book)
    {
        switch (book)
        {
            case "tok_emb.weight": return Embedding;
            case "final_norm.scale": return FinalNorm;
            case "out_head.weight": return OutputHead;
        }
        string[] parts = book.Split('.', 3);
        if (parts.Length == 3 && parts[0] == "trf_blocks" && Block.FirstOrDefault(e => e.Book == parts[2]) is { Hf: not null } entry)
            return $"model.layers.{parts[1]}.{entry.Hf}";
        throw new ArgumentException($"no Hugging Face name for parameter {book}");
    }

    /// <summary>
    /// Tensors a published file may hold that are no parameters: the rotary frequencies older Llama checkpoints
    /// saved in every block (recomputed from the config here).
    /// </summary>
    public static bool IsIgnored(string hfName) => hfName.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);
}
