namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge model info</c>: parameters and memory of a model, as the book counts them (chapter 4).</summary>
static class ModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"one of {string.Join(", ", GptConfig.Presets.Keys)}" };
        var config = new Option<string>("--config") { Description = "a model config JSON" };
        var model = new Option<string>("--model") { Description = "a model file or directory" };
        var json = TextOptions.Json();
        var info = new Command("info", "Count a model's parameters and its fp32 memory.") { preset, config, model, json };
        info.SetAction(parse => Cli.Run(() =>
        {
            string? presetName = parse.GetValue(preset), configPath = parse.GetValue(config), modelPath = parse.GetValue(model);
            if ((presetName != null ? 1 : 0) + (modelPath != null ? 1 : 0) + (configPath != null && modelPath == null ? 1 : 0) != 1)
                throw new BadInputException("give exactly one of --preset, --config and --model");
            GptConfig chosen;
            if (modelPath != null)
            {
                using var loaded = ModelLoader.Load(modelPath, configPath);
                chosen = loaded.Config;
            }
            else
            {
                chosen = presetName != null ? GptConfig.Preset(presetName) : GptConfig.Load(configPath!);
            }
            long total = chosen.ParameterCount(), withoutHead = chosen.ParameterCount(includeOutputHead: false);
            double megabytes = total * 4.0 / (1024 * 1024);
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new
                {
                    total_parameters = total,
                    parameters_without_output_head = withoutHead,
                    fp32_megabytes = Math.Round(megabytes, 2),
                    config = chosen.ToJson(),
                });
            }
            else
            {
                Console.Out.WriteLine($"layers {chosen.NLayers}, heads {chosen.NHeads}, embedding {chosen.EmbDim}, context {chosen.ContextLength}, vocabulary {chosen.VocabSize}");
                Console.Out.WriteLine($"total parameters               {total,15:N0}");
                Console.Out.WriteLine($"without the output head (tied) {withoutHead,15:N0}");
                Console.Out.WriteLine($"fp32 size                      {megabytes,12:N2} MB");
            }
            return Cli.ExitOk;
        }));
        return new Command("model", "Model tools.") { info };
    }
}
