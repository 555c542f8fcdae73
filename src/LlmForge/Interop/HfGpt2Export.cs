using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Model;
using LlmForge.Text;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>
/// Writes a model in the layout <c>openai-community/gpt2</c> ships: <c>model.safetensors</c> with
/// unprefixed Hugging Face names (Conv1D weights stored [in, out], query/key/value joined in
/// <c>c_attn</c>, <c>attn.bias</c> causal-mask buffers), a GPT-2 <c>config.json</c>,
/// <c>generation_config.json</c> and the model's tokenizer (<see cref="HfTokenizerFiles"/>), so that
/// <c>transformers</c>, vLLM or llama.cpp's converter can take a model trained here. An output head
/// equal to the token embedding is left out (tied, as in OpenAI's files); a separate one is written
/// as <c>lm_head.weight</c> with <c>tie_word_embeddings: false</c>.
/// </summary>
/// <remarks>
/// The files are written into a temporary directory beside the output (<see cref="ExportTemporary"/>)
/// and then moved in. A new directory is renamed into place whole. Into an existing one, an earlier
/// export is removed weights first and the new one is moved in weights last, so that a kill at any
/// instant leaves the old export, the new one, or a directory without <c>model.safetensors</c>, which
/// no loader takes for a model and which a later <c>--overwrite</c> replaces: never old and new files
/// mixed into something that loads.
/// </remarks>
public static class HfGpt2Export
{
    const string Weights = "model.safetensors";

    /// <summary>The files of an export, weights last (the order they are moved in).</summary>
    public static readonly string[] FileNames =
        ["config.json", "generation_config.json", .. HfTokenizerFiles.FileNames, Weights];

    /// <summary>An export directory holds these files and nothing else (no directory of ours has entries).</summary>
    public static readonly OutputKind Kind = new("export", name => FileNames.Contains(name), (_, _) => false);

    /// <summary>
    /// Refuses <paramref name="outDir"/> before anything is loaded or written: a file, a directory holding
    /// anything but an export, an earlier export without <paramref name="overwrite"/>, or (with it) the
    /// current directory, a parent of it, or a directory holding one of <paramref name="inputs"/>.
    /// </summary>
    public static void CheckOutput(string outDir, bool overwrite, IEnumerable<(string Option, string? Path)>? inputs = null)
    {
        // Downloaded weights have an export's file names: never take the cache for an earlier export.
        string full = Path.GetFullPath(outDir), cache = Path.GetFullPath(Gpt2Cache.Root);
        if (full == cache || full.StartsWith(cache + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BadInputException($"--out {outDir}: is inside LlmForge's download cache ({Gpt2Cache.Root}); choose a directory outside it");
        if (!OutputDirectory.CheckAvailable(outDir, Kind, "--out")) return;
        if (!overwrite)
            throw new BadInputException($"--out {outDir}: holds an earlier export; pass --overwrite to replace it, or choose another --out");
        // Keeping every name an export writes, Clear only checks that it could delete them.
        OutputDirectory.Clear(outDir, Kind, "--out", inputs ?? [], FileNames);
    }

    /// <param name="tokenizer">the model's tokenizer, written beside it; GPT-2's when null.</param>
    /// <param name="inputs">the command's inputs (option, path), which <paramref name="overwrite"/> never deletes.</param>
    public static void Export(GptModel model, string outDir, ScalarType dtype = ScalarType.Float32, bool overwrite = false,
        ITokenizer? tokenizer = null, IEnumerable<(string Option, string? Path)>? inputs = null)
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new BadInputException($"export writes fp32, fp16 or bf16, not {dtype}");
        var bpe = (tokenizer ?? TokenizerLoader.Gpt2Default) as Gpt2Tokenizer
            ?? throw new BadInputException($"tokenizer {tokenizer!.Name}: only a byte-level BPE tokenizer (GPT-2's or a trained one) can be exported");
        var config = model.Config;
        if (bpe.VocabSize > config.VocabSize)
            throw new BadInputException($"tokenizer {bpe.Name} has {bpe.VocabSize} tokens but the model's vocab_size is {config.VocabSize}; the export would not load");
        var inputList = (inputs ?? []).ToList();
        CheckOutput(outDir, overwrite, inputList);

        string parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir)))
            ?? throw new BadInputException($"--out {outDir}: the root directory cannot be an export");
        Directory.CreateDirectory(parent);
        ExportTemporary.RemoveStale(parent);
        string temporary = ExportTemporary.Create(parent);
        try
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                bool tied = model.OutHeadWeight.allclose(model.tok_emb.weight!, rtol: 0, atol: 0);
                var tensors = Tensors(model, tied).Select(t => (t.Name, t.Tensor.to(dtype))).ToList();
                SafeTensorsFile.Write(Path.Combine(temporary, Weights), tensors, new Dictionary<string, string> { ["format"] = "pt" });
                var indented = new JsonSerializerOptions { WriteIndented = true };
                File.WriteAllText(Path.Combine(temporary, "config.json"), ConfigJson(config, tied, dtype, bpe.EndOfTextId).ToJsonString(indented));
                File.WriteAllText(Path.Combine(temporary, "generation_config.json"), GenerationConfigJson(bpe.EndOfTextId).ToJsonString(indented));
            }
            HfTokenizerFiles.Write(bpe, temporary, config.ContextLength);
            MoveIntoPlace(temporary, outDir, overwrite, inputList);
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
    }

    static void MoveIntoPlace(string temporary, string outDir, bool overwrite, List<(string Option, string? Path)> inputs)
    {
        if (!Directory.Exists(outDir))
        {
            Directory.Move(temporary, outDir);
            return;
        }
        // Checked again: the directory may have changed while the model was written.
        if (OutputDirectory.CheckAvailable(outDir, Kind, "--out"))
        {
            CheckOutput(outDir, overwrite, inputs);
            // The weights go first, so that a kill from here on leaves no loadable mix of old and new.
            OutputDirectory.Clear(outDir, Kind, "--out", inputs, FileNames.Where(n => n != Weights).ToArray());
            OutputDirectory.Clear(outDir, Kind, "--out", inputs);
        }
        foreach (string name in FileNames)
            File.Move(Path.Combine(temporary, name), Path.Combine(outDir, name));
    }

    /// <summary>The Hugging Face tensors, in the order of OpenAI's file.</summary>
    static IEnumerable<(string Name, Tensor Tensor)> Tensors(GptModel model, bool tied)
    {
        var config = model.Config;
        // By the book's parameter names: the layers may sit in slots (ILinearSlots) rather than typed fields.
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        yield return ("wte.weight", p["tok_emb.weight"]);
        yield return ("wpe.weight", p["pos_emb.weight"]);
        for (int i = 0; i < config.NLayers; i++)
        {
            string b = $"trf_blocks.{i}.", h = $"h.{i}.";
            yield return (h + "ln_1.weight", p[b + "norm1.scale"]);
            yield return (h + "ln_1.bias", p[b + "norm1.shift"]);
            // Linear stores [out, in]; Conv1D [in, out]: transpose, and join query, key, value along out.
            yield return (h + "attn.c_attn.weight", cat([p[b + "att.W_query.weight"], p[b + "att.W_key.weight"], p[b + "att.W_value.weight"]], 0).t());
            yield return (h + "attn.c_attn.bias", config.QkvBias
                ? cat([p[b + "att.W_query.bias"], p[b + "att.W_key.bias"], p[b + "att.W_value.bias"]], 0)
                : zeros(3 * config.EmbDim)); // GPT-2 always has these biases; zeros compute the same
            yield return (h + "attn.c_proj.weight", p[b + "att.out_proj.weight"].t());
            yield return (h + "attn.c_proj.bias", p[b + "att.out_proj.bias"]);
            yield return (h + "attn.bias", ones(config.ContextLength, config.ContextLength).tril().view(1, 1, config.ContextLength, config.ContextLength));
            yield return (h + "ln_2.weight", p[b + "norm2.scale"]);
            yield return (h + "ln_2.bias", p[b + "norm2.shift"]);
            yield return (h + "mlp.c_fc.weight", p[b + "ff.layers.0.weight"].t());
            yield return (h + "mlp.c_fc.bias", p[b + "ff.layers.0.bias"]);
            yield return (h + "mlp.c_proj.weight", p[b + "ff.layers.2.weight"].t());
            yield return (h + "mlp.c_proj.bias", p[b + "ff.layers.2.bias"]);
        }
        yield return ("ln_f.weight", p["final_norm.scale"]);
        yield return ("ln_f.bias", p["final_norm.shift"]);
        if (!tied) yield return ("lm_head.weight", p["out_head.weight"]);
    }

    /// <summary>What <c>generate()</c> stops at: the tokenizer's end of text.</summary>
    static JsonObject GenerationConfigJson(int endOfText) => new()
    {
        ["bos_token_id"] = endOfText >= 0 ? endOfText : null,
        ["eos_token_id"] = endOfText >= 0 ? endOfText : null,
    };

    static JsonObject ConfigJson(GptConfig config, bool tied, ScalarType dtype, int endOfText) => new()
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
        ["bos_token_id"] = endOfText >= 0 ? endOfText : null,
        ["eos_token_id"] = endOfText >= 0 ? endOfText : null,
        ["tie_word_embeddings"] = tied,
        ["torch_dtype"] = dtype switch { ScalarType.Float16 => "float16", ScalarType.BFloat16 => "bfloat16", _ => "float32" },
    };
}
