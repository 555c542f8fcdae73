using System.CommandLine;
using LlmForge.Interop;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge export</c>: a model in the Hugging Face GPT-2 layout, for the rest of the ecosystem.</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var format = new Option<string>("--format") { Description = "hf: Hugging Face GPT-2 (model.safetensors + config.json)", DefaultValueFactory = _ => "hf" };
        var output = new Option<string>("--out") { Description = "the directory to write", Required = true };
        var dtype = ModelOptions.DType("fp32 (default), fp16 or bf16 weights");
        var overwrite = new Option<bool>("--overwrite") { Description = "replace what is in --out" };
        var json = TextOptions.Json();
        var command = new Command("export", "Write a model in the Hugging Face GPT-2 layout.") { model, config, format, output, dtype, overwrite, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            if (parse.GetValue(format) != "hf") throw new BadInputException($"--format {parse.GetValue(format)}: only hf is supported");
            var type = ModelOptions.ParseDType(parse.GetValue(dtype));
            string outDir = parse.GetValue(output)!;
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config));
            HfGpt2Export.Export(loaded.Model, outDir, type, parse.GetValue(overwrite));
            long bytes = new FileInfo(Path.Combine(outDir, "model.safetensors")).Length;
            if (parse.GetValue(json))
                Cli.WriteJson(new { out_dir = outDir, format = "hf", dtype = parse.GetValue(dtype), bytes });
            else
                Console.Error.WriteLine($"wrote {outDir}/model.safetensors ({bytes / 1048576.0:F1} MB, {parse.GetValue(dtype)}) and config.json");
            return Cli.ExitOk;
        }));
        return command;
    }
}
