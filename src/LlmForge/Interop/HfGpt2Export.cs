using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Interop;

/// <summary>
/// Writes a model in the layout <c>openai-community/gpt2</c> ships: <c>model.safetensors</c> with
/// unprefixed Hugging Face names (Conv1D weights stored [in, out], query/key/value joined in
/// <c>c_attn</c>, <c>attn.bias</c> causal-mask buffers), a GPT-2 <c>config.json</c>,
/// <c>generation_config.json</c> and the model's tokenizer (<see cref="HfTokenizerFiles"/>), so that
/// <c>transformers</c>, vLLM or llama.cpp's converter can take a model trained here. An output head
/// equal to the token embedding is left out (tied, as in OpenAI's files); a separate one is written
/// as <c>lm_head.weight</c> with <c>tie_word_embeddings: false</c>. LoRA adapters are merged into the
/// weights they adapt (<see cref="LoRA.Merge"/>); a classifier's head has no place in the layout and is refused.
/// </summary>
/// <remarks>
/// The files are written into a temporary directory beside the output (<see cref="ExportTemporary"/>,
/// filled and cleaned up through <see cref="AtomicDirectory"/>) and then moved in. A new directory is
/// renamed into place whole. Into an existing one, an earlier export is removed weights first and the new one is moved in weights last, so that a kill at any
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
        OutputDirectory.RequireReplaceable(outDir, Kind, "--out", inputs ?? []);
    }

    /// <param name="model">the model to write; its LoRA adapters, if any, are merged into it here (in place).</param>
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
        if (!model.HasVocabularyHead)
        {
            string name = inputList.FirstOrDefault(i => i.Option == "--model").Path is { } path ? $"--model {path}" : "the model";
            string labels = model.Labels is { } l ? $": {string.Join(", ", l)}" : "";
            throw new BadInputException($"{name}: is a classifier ({model.OutputSize} classes{labels}); the Hugging Face GPT-2 layout holds only a language model's vocabulary head, so it cannot be exported");
        }
        CheckOutput(outDir, overwrite, inputList);
        // The layout has no adapters: W + (alpha / rank)·(A·B)ᵀ computes the same.
        LoRA.Merge(model);

        string parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir)))
            ?? throw new BadInputException($"--out {outDir}: the root directory cannot be an export");
        Directory.CreateDirectory(parent);
        ExportTemporary.RemoveStale(parent);
        AtomicDirectory.Write(ExportTemporary.NewPath(parent), temporary =>
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
        }, moveIntoPlace: temporary => MoveIntoPlace(temporary, outDir, overwrite, inputList));
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

    /// <summary>The Hugging Face tensors, in the order of OpenAI's file (<see cref="Gpt2HfNames"/>).</summary>
    static IEnumerable<(string Name, Tensor Tensor)> Tensors(GptModel model, bool tied)
    {
        var config = model.Config;
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var entry in Gpt2HfNames.Embeddings)
            yield return (entry.Hf, parameters[entry.Book[0]]);
        for (int i = 0; i < config.NLayers; i++)
        {
            string block = $"trf_blocks.{i}.";
            foreach (var entry in Gpt2HfNames.Block)
                yield return ($"h.{i}.{entry.Hf}", BlockTensor(entry, entry.Book.Select(name => parameters.GetValueOrDefault(block + name)).ToArray(), config));
        }
        foreach (var entry in Gpt2HfNames.Final)
            yield return (entry.Hf, parameters[entry.Book[0]]);
        if (!tied) yield return (Gpt2HfNames.OutputHead.Hf, parameters[Gpt2HfNames.OutputHead.Book[0]]);
    }

    /// <summary>A block's Hugging Face tensor made from its book <paramref name="parameters"/> (null where the model has none).</summary>
    static Tensor BlockTensor(Gpt2HfNames.Entry entry, Tensor?[] parameters, GptConfig config)
    {
        // Linear stores [out, in]; Conv1D [in, out]: transpose weights.
        bool weight = entry.Hf.EndsWith(".weight", StringComparison.Ordinal);
        switch (entry.Storage)
        {
            case Gpt2HfNames.Storage.Transposed:
                return parameters[0]!.t();
            case Gpt2HfNames.Storage.Fused when parameters.All(p => p is not null):
                // c_attn: query, key, value joined along out.
                var joined = cat(parameters!, 0);
                return weight ? joined.t() : joined;
            case Gpt2HfNames.Storage.Fused:
                // A model without query/key/value biases: GPT-2 always has them; zeros compute the same.
                return zeros(3 * config.EmbDim);
            case Gpt2HfNames.Storage.MaskBuffer:
                return ones(config.ContextLength, config.ContextLength).tril().view(1, 1, config.ContextLength, config.ContextLength);
            default:
                return parameters[0]!;
        }
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
