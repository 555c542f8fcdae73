namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge export</c>: a model in the Hugging Face GPT-2 layout, for the rest of the ecosystem.</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var format = new Option<string>("--format") { Description = "hf: Hugging Face GPT-2 (model.safetensors, config.json, generation_config.json and the tokenizer files)", DefaultValueFactory = _ => "hf" };
        var output = new Option<string>("--out") { Description = "the directory to write", Required = true };
        var dtype = ModelOptions.DType("fp32 (default), fp16 or bf16 weights");
        var overwrite = new Option<bool>("--overwrite") { Description = "replace an earlier export in --out (never other files, the current directory or an input)" };
        var json = TextOptions.Json();
        var command = new Command("export", "Write a model in the Hugging Face GPT-2 layout.") { model, config, format, output, dtype, overwrite, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            if (parse.GetValue(format) != "hf") throw new BadInputException($"--format {parse.GetValue(format)}: only hf is supported");
            var type = ModelOptions.ParseDType(parse.GetValue(dtype));
            string outDir = parse.GetValue(output)!;
            bool replace = parse.GetValue(overwrite);
            // --model names a downloaded GPT-2 by size too: --overwrite must see the directory it stands for.
            string modelPath = Gpt2Cache.Resolve(parse.GetValue(model)!);
            (string, string?)[] inputs = [("--model", modelPath), ("--config", parse.GetValue(config))];
            // Before the model is loaded: a refused --out costs nothing and touches nothing.
            HfGpt2Export.CheckOutput(outDir, replace, inputs);
            using var loaded = ModelLoader.Load(modelPath, parse.GetValue(config));
            HfGpt2Export.Export(loaded.Model, outDir, type, replace, loaded.Tokenizer, [.. inputs, ("--model", loaded.Source)]);
            long bytes = new FileInfo(Path.Combine(outDir, "model.safetensors")).Length;
            if (parse.GetValue(json))
                Cli.WriteJson(new { out_dir = outDir, format = "hf", dtype = parse.GetValue(dtype), bytes, files = HfGpt2Export.FileNames });
            else
                Console.Error.WriteLine($"wrote {outDir}/model.safetensors ({bytes / 1048576.0:F1} MB, {parse.GetValue(dtype)}), config.json, generation_config.json and the tokenizer ({string.Join(", ", HfTokenizerFiles.FileNames)})");
            return Cli.ExitOk;
        }));
        return command;
    }
}
