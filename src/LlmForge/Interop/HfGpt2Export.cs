using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Model;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>
/// Writes a model in the layout <c>openai-community/gpt2</c> ships: <c>model.safetensors</c> with
/// unprefixed Hugging Face names (Conv1D weights stored [in, out], query/key/value joined in
/// <c>c_attn</c>, <c>attn.bias</c> causal-mask buffers) and a GPT-2 <c>config.json</c>, so that
/// <c>transformers</c>, vLLM or llama.cpp's converter can take a model trained here. An output head
/// equal to the token embedding is left out (tied, as in OpenAI's files); a separate one is written
/// as <c>lm_head.weight</c> with <c>tie_word_embeddings: false</c>.
/// </summary>
public static class HfGpt2Export
{
    public static void Export(GptModel model, string outDir, ScalarType dtype = ScalarType.Float32, bool overwrite = false)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new BadInputException($"export writes fp32, fp16 or bf16, not {dtype}");
        if (File.Exists(outDir)) throw new BadInputException($"{outDir}: is a file; --out needs a directory");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !overwrite)
            throw new BadInputException($"{outDir}: already exists and is not empty; choose another --out or pass --overwrite");

        var config = model.Config;
        string parent = Path.GetDirectoryName(Path.GetFullPath(outDir))!;
        Directory.CreateDirectory(parent);
        string temporary = Path.Combine(parent, $".tmp-export-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                bool tied = model.out_head.weight!.allclose(model.tok_emb.weight!, rtol: 0, atol: 0);
                var tensors = Tensors(model, tied).Select(t => (t.Name, t.Tensor.to(dtype))).ToList();
                SafeTensorsFile.Write(Path.Combine(temporary, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
                File.WriteAllText(Path.Combine(temporary, "config.json"), ConfigJson(config, tied, dtype).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            Directory.Move(temporary, outDir);
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>The Hugging Face tensors, in the order of OpenAI's file.</summary>
    static IEnumerable<(string Name, Tensor Tensor)> Tensors(GptModel model, bool tied)
    {
        var config = model.Config;
        yield return ("wte.weight", model.tok_emb.weight!);
        yield return ("wpe.weight", model.pos_emb.weight!);
        for (int i = 0; i < config.NLayers; i++)
        {
            var block = model.trf_blocks[i];
            var att = block.att;
            string h = $"h.{i}.";
            yield return (h + "ln_1.weight", block.norm1.scale);
            yield return (h + "ln_1.bias", block.norm1.shift);
            // Linear stores [out, in]; Conv1D [in, out]: transpose, and join query, key, value along out.
            yield return (h + "attn.c_attn.weight", cat([att.W_query.weight!, att.W_key.weight!, att.W_value.weight!], 0).t());
            yield return (h + "attn.c_attn.bias", config.QkvBias
                ? cat([att.W_query.bias!, att.W_key.bias!, att.W_value.bias!], 0)
                : zeros(3 * config.EmbDim)); // GPT-2 always has these biases; zeros compute the same
            yield return (h + "attn.c_proj.weight", att.out_proj.weight!.t());
            yield return (h + "attn.c_proj.bias", att.out_proj.bias!);
            yield return (h + "attn.bias", ones(config.ContextLength, config.ContextLength).tril().view(1, 1, config.ContextLength, config.ContextLength));
            yield return (h + "ln_2.weight", block.norm2.scale);
            yield return (h + "ln_2.bias", block.norm2.shift);
            var up = (TorchSharp.Modules.Linear)block.ff.layers[0];
            var down = (TorchSharp.Modules.Linear)block.ff.layers[2];
            yield return (h + "mlp.c_fc.weight", up.weight!.t());
            yield return (h + "mlp.c_fc.bias", up.bias!);
            yield return (h + "mlp.c_proj.weight", down.weight!.t());
            yield return (h + "mlp.c_proj.bias", down.bias!);
        }
        yield return ("ln_f.weight", model.final_norm.scale);
        yield return ("ln_f.bias", model.final_norm.shift);
        if (!tied) yield return ("lm_head.weight", model.out_head.weight!);
    }

    static JsonObject ConfigJson(GptConfig config, bool tied, ScalarType dtype) => new()
    {
        ["model_type"] = "gpt2",
        ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["vocab_size"] = config.VocabSize,
        ["n_positions"] = config.ContextLength,
        ["n_ctx"] = config.ContextLength,
        ["n_embd"] = config.EmbDim,
        ["n_layer"] = config.NLayers,
        ["n_head"] = config.NHeads,
        ["n_inner"] = null,
        ["activation_function"] = "gelu_new",
        ["layer_norm_epsilon"] = LayerNorm.Eps,
        ["resid_pdrop"] = config.DropRate,
        ["embd_pdrop"] = config.DropRate,
        ["attn_pdrop"] = config.DropRate,
        ["initializer_range"] = 0.02,
        ["bos_token_id"] = 50256,
        ["eos_token_id"] = 50256,
        ["tie_word_embeddings"] = tied,
        ["torch_dtype"] = dtype switch { ScalarType.Float16 => "float16", ScalarType.BFloat16 => "bfloat16", _ => "float32" },
    };
}
