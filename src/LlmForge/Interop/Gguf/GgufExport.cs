using LlmForge.Model.Llama;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// <c>llmforge export --format gguf</c>: a loaded model as one GGUF file that llama.cpp, Ollama and LM Studio run,
/// with an Ollama <c>Modelfile</c> beside it. GPT models become llama.cpp's <c>gpt2</c> architecture and need GPT-2's
/// own vocabulary (llama.cpp tokenizes <c>gpt2</c> models with GPT-2's rules); Llama 3 and Qwen3 models become
/// <c>llama</c> and <c>qwen3</c> with their tokenizers and chat templates. LoRA adapters are merged first; a classifier
/// is refused, as llama.cpp has no class head.
/// </summary>
/// <remarks>
/// The file is written under a temporary name beside the output (<see cref="ExportTemporary"/>) and renamed into place
/// at the end, so that a failed or interrupted export never leaves a file under the final name, and an earlier file
/// there stays whole until the new one replaces it. A temporary that a killed export left is removed by the next.
/// </remarks>
public static class GgufExport
{
    public sealed record Result(string Path, string ModelfilePath, string Architecture, GgmlType Type, long Bytes, int Tensors);

    /// <summary>The Modelfile's path for an export to <paramref name="outPath"/>: <c>Modelfile</c> in the same directory.</summary>
    public static string ModelfilePath(string outPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outPath))!, "Modelfile");

    /// <summary>
    /// Refuses <paramref name="outPath"/> before anything is loaded: a directory, an existing file (or Modelfile
    /// beside it) without <paramref name="overwrite"/>, or (with it) one of the command's <paramref name="inputs"/>.
    /// </summary>
    public static void CheckOutput(string outPath, bool overwrite, IEnumerable<(string Option, string? Path)> inputs)
    {
        if (Directory.Exists(outPath)) throw new BadInputException($"--out {outPath}: is a directory; GGUF export writes one file (for example --out model.gguf)");
        foreach (string path in new[] { outPath, ModelfilePath(outPath) })
        {
            if (!File.Exists(path) && !Directory.Exists(path)) continue;
            if (Directory.Exists(path)) throw new BadInputException($"{path}: is a directory; the export writes its Modelfile there");
            if (!overwrite) throw new BadInputException($"{path}: exists; pass --overwrite to replace it, or choose another --out");
            foreach (var (option, input) in inputs)
                if (input != null && Path.GetFullPath(input) == Path.GetFullPath(path))
                    throw new BadInputException($"--out {outPath}: would overwrite {option} {input}");
        }
    }

    /// <summary>Writes <paramref name="loaded"/> to <paramref name="outPath"/> (checked by <see cref="CheckOutput"/>) and the Modelfile beside it.</summary>
    /// <param name="progress">told (tensors written, tensors in all) as the file is written.</param>
    public static Result Export(LoadedModel loaded, string outPath, GgmlType type, bool overwrite,
        IEnumerable<(string Option, string? Path)> inputs, Action<int, int>? progress = null) =>
        Export(loaded.Network, loaded.Tokenizer, $"--model {loaded.Source}", outPath, type, overwrite, inputs, progress);

    /// <param name="source">how messages name the model (<c>--model PATH</c>).</param>
    public static Result Export(ILanguageModel network, ITokenizer tokenizer, string source, string outPath, GgmlType type, bool overwrite,
        IEnumerable<(string Option, string? Path)> inputs, Action<int, int>? progress = null)
    {
        if (network is IClassifierModel { HasVocabularyHead: false } classifier)
        {
            string labels = classifier.Labels is { } l ? ": " + string.Join(", ", l) : "";
            throw new BadInputException($"{source}: is a classifier ({classifier.OutputSize} classes{labels}); llama.cpp and Ollama run language models only and have no class head, so it cannot be exported as GGUF");
        }
        if (network is GptModel gpt) RequireGpt2Vocabulary(source, tokenizer, gpt);
        if (network is not (GptModel or LlamaModel))
            throw new BadInputException($"{source}: a {network.Architecture} model has no GGUF layout here");
        var vocabulary = GgufVocabulary.Of(tokenizer, network.OutputSize);
        CheckOutput(outPath, overwrite, inputs);
        // GGUF has no adapters: W + (alpha / rank)·(A·B)ᵀ computes the same.
        LoRA.Merge(network);

        string full = Path.GetFullPath(outPath), parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        ExportTemporary.RemoveStale(parent);
        string temporary = ExportTemporary.NewPath(parent);
        var gguf = new GgufWriter();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            string architecture = network is GptModel g ? Describe(gguf, g, type) : Describe(gguf, (LlamaModel)network, type);
            gguf.Add("general.name", Path.GetFileNameWithoutExtension(full));
            gguf.Add("general.file_type", GgmlTypes.FileType(type));
            if (type == GgmlType.Q8_0) gguf.Add("general.quantization_version", 2u);
            vocabulary.WriteTo(gguf);
            try
            {
                using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                {
                    gguf.Write(stream, i => progress?.Invoke(i + 1, gguf.Tensors.Count));
                    stream.Flush(flushToDisk: true);
                }
                // Checked again: something may have appeared there while the file was written.
                CheckOutput(outPath, overwrite, inputs);
                File.Move(temporary, full, overwrite);
            }
            finally
            {
                File.Delete(temporary);
            }
            string modelfile = ModelfilePath(full);
            AtomicFile.WriteAllText(modelfile, OllamaModelfile.Text(Path.GetFileName(full), network, tokenizer));
            return new Result(full, modelfile, architecture, type, new FileInfo(full).Length, gguf.Tensors.Count);
        }
    }

    static string Describe(GgufWriter gguf, GptModel model, GgmlType type)
    {
        GgufGpt2.Describe(model, gguf, type);
        return "gpt2";
    }

    static string Describe(GgufWriter gguf, LlamaModel model, GgmlType type)
    {
        GgufLlama.Describe(model, gguf, type);
        return model.Config.ModelType == LlamaConfig.Qwen3 ? "qwen3" : "llama";
    }

    /// <summary>
    /// llama.cpp tokenizes a <c>gpt2</c> model with GPT-2's own rules: the model's tokenizer must be GPT-2's 50,257
    /// tokens (a vocabulary padded past them is fine).
    /// </summary>
    static void RequireGpt2Vocabulary(string source, ITokenizer tokenizer, GptModel model)
    {
        var gpt2 = TokenizerLoader.Gpt2Default;
        bool same = tokenizer is Gpt2Tokenizer t && t.VocabSize == gpt2.VocabSize
            && Enumerable.Range(0, gpt2.VocabSize).All(id => t.TokenBytes(id).SequenceEqual(gpt2.TokenBytes(id)));
        if (!same || model.Config.VocabSize < gpt2.VocabSize)
            throw new BadInputException($"{source}: its vocabulary is not GPT-2's (tokenizer {tokenizer.Name}, {tokenizer.VocabSize} tokens, vocab_size {model.Config.VocabSize}); llama.cpp's gpt2 architecture tokenizes with GPT-2's 50,257 tokens only");
    }
}
