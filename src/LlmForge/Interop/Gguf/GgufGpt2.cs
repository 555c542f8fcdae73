namespace LlmForge.Interop.Gguf;

/// <summary>
/// The book's GPT model as llama.cpp's <c>gpt2</c> architecture: its hyperparameters under <c>gpt2.*</c> and its
/// tensors under llama.cpp's names (<c>token_embd</c>, <c>position_embd</c>, and per block <c>attn_norm</c>,
/// <c>attn_qkv</c> with query, key and value joined, <c>attn_output</c>, <c>ffn_norm</c>, <c>ffn_up</c>,
/// <c>ffn_down</c>; then <c>output_norm</c> and <c>output</c>). The book's Linear layers store <c>[out, in]</c>,
/// which is ggml's row layout already, so no weight is transposed.
/// </summary>
public static class GgufGpt2
{
    public static void Describe(GptModel model, GgufWriter gguf, GgmlType type)
    {
        var config = model.Config;
        gguf.Add("general.architecture", "gpt2");
        gguf.Add("gpt2.context_length", (uint)config.ContextLength);
        gguf.Add("gpt2.embedding_length", (uint)config.EmbDim);
        gguf.Add("gpt2.feed_forward_length", (uint)(4 * config.EmbDim));
        gguf.Add("gpt2.block_count", (uint)config.NLayers);
        gguf.Add("gpt2.attention.head_count", (uint)config.NHeads);
        gguf.Add("gpt2.attention.layer_norm_epsilon", (float)LayerNorm.Eps);

        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        // Weights (2-D) take the chosen type; norms and biases stay f32, as llama.cpp keeps them.
        void Weight(string name, Tensor t) => gguf.AddTensor(name, t, type);
        void Vector(string name, Tensor t) => gguf.AddTensor(name, t, GgmlType.F32);

        Weight("token_embd.weight", p["tok_emb.weight"]);
        Weight("position_embd.weight", p["pos_emb.weight"]);
        for (int i = 0; i < config.NLayers; i++)
        {
            string book = $"trf_blocks.{i}.", blk = $"blk.{i}.";
            Vector(blk + "attn_norm.weight", p[book + "norm1.scale"]);
            Vector(blk + "attn_norm.bias", p[book + "norm1.shift"]);
            Weight(blk + "attn_qkv.weight", cat([p[book + "att.W_query.weight"], p[book + "att.W_key.weight"], p[book + "att.W_value.weight"]], 0));
            // llama.cpp's gpt2 has query/key/value biases; a model trained without them computes the same with zeros.
            Vector(blk + "attn_qkv.bias", config.QkvBias
                ? cat([p[book + "att.W_query.bias"], p[book + "att.W_key.bias"], p[book + "att.W_value.bias"]], 0)
                : zeros(3 * config.EmbDim));
            Weight(blk + "attn_output.weight", p[book + "att.out_proj.weight"]);
            Vector(blk + "attn_output.bias", p[book + "att.out_proj.bias"]);
            Vector(blk + "ffn_norm.weight", p[book + "norm2.scale"]);
            Vector(blk + "ffn_norm.bias", p[book + "norm2.shift"]);
            Weight(blk + "ffn_up.weight", p[book + "ff.layers.0.weight"]);
            Vector(blk + "ffn_up.bias", p[book + "ff.layers.0.bias"]);
            Weight(blk + "ffn_down.weight", p[book + "ff.layers.2.weight"]);
            Vector(blk + "ffn_down.bias", p[book + "ff.layers.2.bias"]);
        }
        Vector("output_norm.weight", p["final_norm.scale"]);
        Vector("output_norm.bias", p["final_norm.shift"]);
        Weight("output.weight", p["out_head.weight"]);
    }
}
