namespace LlmForge.Cli.Commands;

/// <summary>
/// <c>llmforge export</c>: a model in the Hugging Face layout of its family, or as one GGUF file for llama.cpp and
/// Ollama, for the rest of the ecosystem.
/// </summary>
static class ExportCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var format = new Option<string>("--format") { Description = "hf: the Hugging Face layout of the model's family (model.safetensors, config.json and the tokenizer files); gguf: one file for llama.cpp, Ollama and LM Studio, with an Ollama Modelfile beside it", DefaultValueFactory = _ => "hf" };
        var output = new Option<string>("--out") { Description = "the directory to write (hf), or the .gguf file (gguf)", Required = true };
        var dtype = ModelOptions.DType("hf: fp32 (default), fp16 or bf16 weights; gguf: f32 (default), f16, bf16 or q8_0 (Q8_0 blocks of 32 int8 values and one fp16 scale); norms and biases stay f32");
        var overwrite = new Option<bool>("--overwrite") { Description = "replace an earlier export in --out (never other files, the current directory or an input)" };
        var json = TextOptions.Json();
        var command = new Command("export", "Write a model in the Hugging Face layout of its family (GPT-2, Llama 3, Qwen3), or as GGUF for llama.cpp and Ollama.") { model, config, format, output, dtype, overwrite, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            if (parse.GetValue(format) == "gguf") return ExportGguf(parse, model, config, output, dtype, overwrite, json);
            if (parse.GetValue(format) != "hf") throw new BadInputException($"--format {parse.GetValue(format)}: expected hf or gguf");
            var type = ModelOptions.ParseDType(parse.GetValue(dtype));
            string outDir = parse.GetValue(output)!;
            bool replace = parse.GetValue(overwrite);
            // --model names a downloaded GPT-2 by size too: --overwrite must see the directory it stands for.
            string modelPath = Gpt2Cache.Resolve(parse.GetValue(model)!);
            (string, string?)[] inputs = [("--model", modelPath), ("--config", parse.GetValue(config))];
            // Before the model is loaded: a refused --out costs nothing and touches nothing.
            HfGpt2Export.CheckOutput(outDir, replace, inputs);
            using var loaded = ModelLoader.Load(modelPath, parse.GetValue(config));
            if (loaded.Network is LlamaModel llama) ExportLlama(llama, loaded.Tokenizer, outDir, type);
            else HfGpt2Export.Export(loaded.Model, outDir, type, replace, loaded.Tokenizer, [.. inputs, ("--model", loaded.Source)]);
            long bytes = new FileInfo(Path.Combine(outDir, "model.safetensors")).Length;
            if (parse.GetValue(json))
                Cli.WriteJson(new { out_dir = outDir, format = "hf", dtype = parse.GetValue(dtype), bytes, files = HfGpt2Export.FileNames });
            else
                Console.Error.WriteLine($"wrote {outDir}/model.safetensors ({bytes / 1048576.0:F1} MB, {parse.GetValue(dtype)}), config.json and the tokenizer ({string.Join(", ", Directory.EnumerateFiles(outDir).Select(Path.GetFileName).Where(f => f is not ("model.safetensors" or "config.json")).Order())})");
            return Cli.ExitOk;
        }));
        return command;
    }

    /// <summary>One GGUF file and the Modelfile beside it; --out and --dtype are checked before the model is loaded.</summary>
    static int ExportGguf(ParseResult parse, Option<string> model, Option<string> config, Option<string> output, Option<string> dtype, Option<bool> overwrite, Option<bool> json)
    {
        var type = GgmlTypes.Parse(parse.GetValue(dtype));
        string outPath = parse.GetValue(output)!;
        bool replace = parse.GetValue(overwrite);
        string modelPath = Gpt2Cache.Resolve(parse.GetValue(model)!);
        (string, string?)[] inputs = [("--model", modelPath), ("--config", parse.GetValue(config))];
        GgufExport.CheckOutput(outPath, replace, inputs);
        using var loaded = ModelLoader.Load(modelPath, parse.GetValue(config));
        var progress = new CountProgress();
        var result = GgufExport.Export(loaded, outPath, type, replace, [.. inputs, ("--model", loaded.Source)],
            (done, total) => progress.Show("writing", done, total, "tensors"));
        if (parse.GetValue(json))
            Cli.WriteJson(new { @out = result.Path, format = "gguf", architecture = result.Architecture, dtype = GgmlTypes.Name(result.Type), bytes = result.Bytes, tensors = result.Tensors, modelfile = result.ModelfilePath });
        else
            Console.Error.WriteLine($"wrote {outPath} ({result.Bytes / 1048576.0:F1} MB, {result.Architecture}, {GgmlTypes.Name(result.Type)}, {result.Tensors} tensors) and {result.ModelfilePath}; run it with `ollama create NAME -f {result.ModelfilePath}`");
        return Cli.ExitOk;
    }

    /// <summary>
    /// A Llama 3 or Qwen3 model in its Hugging Face repository's layout, with its tokenizer's own files, or
    /// GPT-2's written in the same form for a model trained here with GPT-2's vocabulary.
    /// </summary>
    static void ExportLlama(LlamaModel llama, LlmForge.Text.ITokenizer tokenizer, string outDir, TorchSharp.torch.ScalarType dtype)
    {
        var files = Directory.CreateTempSubdirectory("llmforge-export-tokenizer");
        try
        {
            switch (tokenizer)
            {
                case LlmForge.Text.HfBpeTokenizer hf: hf.Save(files.FullName); break;
                case LlmForge.Text.Gpt2Tokenizer gpt2: HfTokenizerFiles.Write(gpt2, files.FullName, llama.ContextLength); break;
                default: throw new BadInputException($"the {tokenizer.Name} tokenizer has no Hugging Face form to export with the model");
            }
            LlamaHfExport.Save(llama, outDir, dtype, Directory.EnumerateFiles(files.FullName));
        }
        finally
        {
            files.Delete(recursive: true);
        }
    }
}
