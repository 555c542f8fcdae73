using LlmForge.Model.Llama;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// A Llama 3 or Qwen3 model as llama.cpp's <c>llama</c> or <c>qwen3</c> architecture: hyperparameters under the
/// architecture's name and tensors under llama.cpp's names (<c>attn_q</c>, <c>attn_k</c>, <c>attn_v</c>,
/// <c>attn_output</c>, Qwen3's <c>attn_q_norm</c> and <c>attn_k_norm</c>, <c>ffn_gate</c>, <c>ffn_up</c>,
/// <c>ffn_down</c>, the two norms; <c>output</c> only when the head is not the embedding, which llama.cpp then uses).
/// </summary>
/// <remarks>
/// Two things differ from the Hugging Face layout. llama.cpp rotates a Llama head's dimensions in adjacent pairs
/// (0,1), (2,3), ... where Hugging Face rotates each dimension with the one half a head away, so the query and key
/// rows of each head are interleaved here (as llama.cpp's converter does); Qwen3 uses the half-apart rotation in
/// llama.cpp too and is written as it is. And Llama 3's frequency scaling goes in as <c>rope_freqs.weight</c>: by how
/// much each pair's frequency is divided.
/// </remarks>
public static class GgufLlama
{
    public static void Describe(LlamaModel model, GgufWriter gguf, GgmlType type)
    {
        var c = model.Config;
        string arch = c.ModelType == LlamaConfig.Qwen3 ? "qwen3" : "llama";
        gguf.Add("general.architecture", arch);
        gguf.Add($"{arch}.vocab_size", (uint)c.VocabSize);
        gguf.Add($"{arch}.context_length", (uint)c.ContextLength);
        gguf.Add($"{arch}.embedding_length", (uint)c.HiddenSize);
        gguf.Add($"{arch}.block_count", (uint)c.NumLayers);
        gguf.Add($"{arch}.feed_forward_length", (uint)c.IntermediateSize);
        gguf.Add($"{arch}.attention.head_count", (uint)c.NumHeads);
        gguf.Add($"{arch}.attention.head_count_kv", (uint)c.NumKvHeads);
        gguf.Add($"{arch}.attention.key_length", (uint)c.HeadDim);
        gguf.Add($"{arch}.attention.value_length", (uint)c.HeadDim);
        gguf.Add($"{arch}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        gguf.Add($"{arch}.rope.dimension_count", (uint)c.HeadDim);
        gguf.Add($"{arch}.rope.freq_base", (float)c.RopeTheta);

        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        void Weight(string name, Tensor t) => gguf.AddTensor(name, t, type);
        void Vector(string name, Tensor t) => gguf.AddTensor(name, t, GgmlType.F32);
        bool interleave = arch == "llama";

        Weight("token_embd.weight", p["tok_emb.weight"]);
        if (c.RopeScaling != null)
        {
            var plain = RotaryEmbedding.InverseFrequencies(c.HeadDim, c.RopeTheta, null);
            var scaled = RotaryEmbedding.InverseFrequencies(c.HeadDim, c.RopeTheta, c.RopeScaling);
            Vector("rope_freqs.weight", plain / scaled);
        }
        for (int i = 0; i < c.NumLayers; i++)
        {
            string book = $"trf_blocks.{i}.", blk = $"blk.{i}.";
            Vector(blk + "attn_norm.weight", p[book + "norm1.scale"]);
            var query = p[book + "att.W_query.weight"];
            var key = p[book + "att.W_key.weight"];
            Weight(blk + "attn_q.weight", interleave ? PairsAdjacent(query, c.NumHeads) : query);
            Weight(blk + "attn_k.weight", interleave ? PairsAdjacent(key, c.NumKvHeads) : key);
            Weight(blk + "attn_v.weight", p[book + "att.W_value.weight"]);
            Weight(blk + "attn_output.weight", p[book + "att.out_proj.weight"]);
            if (c.QkNorm)
            {
                Vector(blk + "attn_q_norm.weight", p[book + "att.q_norm.scale"]);
                Vector(blk + "attn_k_norm.weight", p[book + "att.k_norm.scale"]);
            }
            Vector(blk + "ffn_norm.weight", p[book + "norm2.scale"]);
            Weight(blk + "ffn_gate.weight", p[book + "ff.fc1.weight"]);
            Weight(blk + "ffn_up.weight", p[book + "ff.fc2.weight"]);
            Weight(blk + "ffn_down.weight", p[book + "ff.fc3.weight"]);
        }
        Vector("output_norm.weight", p["final_norm.scale"]);
        if (!c.TieWordEmbeddings) Weight("output.weight", p["out_head.weight"]);
    }

    /// <summary>
    /// Reorders each head's rows from [first half, second half] to [h0, h(d/2), h1, h(d/2+1), ...], so that the pairs
    /// Hugging Face rotates together (i, i + d/2) become llama.cpp's adjacent pairs (2i, 2i + 1).
    /// </summary>
    static Tensor PairsAdjacent(Tensor weight, int heads)
    {
        long rows = weight.shape[0], inputs = weight.shape[1], headDim = rows / heads;
        return weight.reshape(heads, 2, headDim / 2, inputs).transpose(1, 2).reshape(rows, inputs);
    }
}
