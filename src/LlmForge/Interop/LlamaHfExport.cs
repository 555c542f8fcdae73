using System.Text.Json;
using LlmForge.Model.Llama;

namespace LlmForge.Interop;

/// <summary>
/// Writes a Llama 3 or Qwen3 model in the layout its Hugging Face repository ships: <c>config.json</c> with
/// Hugging Face's keys and <c>model.safetensors</c> with Hugging Face's names (<see cref="LlamaHfNames"/>), no
/// <c>lm_head.weight</c> when the head is tied to the embedding, so that <see cref="LlamaLoader"/>,
/// <c>transformers</c> or llama.cpp's converter read it back. LoRA adapters are merged into the weights they adapt
/// first (<see cref="LoRA.Merge"/>, in place). The directory is written whole through a temporary beside it
/// (<see cref="AtomicDirectory"/>), replacing one already there: callers refuse directories that are not theirs.
/// </summary>
public static class LlamaHfExport
{
    public const string Weights = "model.safetensors";

    /// <param name="dtype">the dtype of the written tensors; the model's own when null.</param>
    /// <param name="extraFiles">files copied in beside the weights (the tokenizer's <c>tokenizer.json</c>, <c>tokenizer_config.json</c>, ...).</param>
    public static void Save(LlamaModel model, string directory, ScalarType? dtype = null, IEnumerable<string>? extraFiles = null)
    {
        var written = dtype ?? model.DType;
        if (written is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new BadInputException($"export writes fp32, fp16 or bf16, not {written}");
        if (!model.HasVocabularyHead)
            throw new BadInputException($"the model is a classifier ({model.OutputSize} outputs{(model.Labels is { } labels ? ": " + string.Join(", ", labels) : "")}); the Hugging Face {model.Config.ModelType} layout has a vocabulary head only");
        var extras = (extraFiles ?? []).ToList();
        foreach (string file in extras)
        {
            if (!File.Exists(file)) throw new BadInputException($"{file}: no such file to export with the model");
            if (Path.GetFileName(file) is "config.json" or Weights) throw new BadInputException($"{file}: the export writes its own {Path.GetFileName(file)}");
        }
        // The layout has no adapters: W + (alpha / rank)·(A·B)ᵀ computes the same.
        LoRA.Merge(model);
        AtomicDirectory.Write(directory, temporary =>
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var tensors = Tensors(model).Select(t => (t.Name, t.Tensor.dtype == written ? t.Tensor : t.Tensor.to(written)));
                SafeTensorsFile.Write(Path.Combine(temporary, Weights), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            }
            var config = model.Config with { TorchDtype = written switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" } };
            File.WriteAllText(Path.Combine(temporary, "config.json"), config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            foreach (string file in extras) File.Copy(file, Path.Combine(temporary, Path.GetFileName(file)));
        });
    }

    /// <summary>The tensors under Hugging Face's names: embedding, each block in the published order, final norm, head unless tied.</summary>
    static IEnumerable<(string Name, Tensor Tensor)> Tensors(LlamaModel model)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        yield return (LlamaHfNames.Embedding, parameters["tok_emb.weight"]);
        for (int i = 0; i < model.Config.NumLayers; i++)
            foreach (var (hf, book) in LlamaHfNames.Block)
                if (parameters.TryGetValue($"trf_blocks.{i}.{book}", out var tensor)) // q_norm and k_norm: Qwen3 only
                    yield return ($"model.layers.{i}.{hf}", tensor);
        yield return (LlamaHfNames.FinalNorm, parameters["final_norm.scale"]);
        if (!model.Config.TieWordEmbeddings) yield return (LlamaHfNames.OutputHead, parameters["out_head.weight"]);
    }
}
