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
            long total, withoutHead;
            string? kind = null;
            if (modelPath != null)
            {
                // A loaded model is counted as it is: a classifier's head, LoRA adapters included.
                using var loaded = ModelLoader.Load(modelPath, configPath);
                chosen = loaded.Config;
                var parameters = loaded.Model.named_parameters().ToList();
                total = parameters.Sum(p => p.parameter.numel());
                withoutHead = parameters.Where(p => !p.name.StartsWith("out_head.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
                if (loaded.Labels is { } labels) kind = $"a classifier of {labels.Count} classes ({string.Join(", ", labels)})";
                if (LoRA.Settings(loaded.Model) is var (rank, alpha)) kind = (kind == null ? "" : kind + ", ") + $"LoRA rank {rank}, alpha {alpha}";
            }
            else
            {
                chosen = presetName != null ? GptConfig.Preset(presetName) : GptConfig.Load(configPath!);
                (total, withoutHead) = (chosen.ParameterCount(), chosen.ParameterCount(includeOutputHead: false));
            }
            double megabytes = total * 4.0 / (1024 * 1024);
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new
                {
                    total_parameters = total,
                    parameters_without_output_head = withoutHead,
                    fp32_megabytes = Math.Round(megabytes, 2),
                    config = chosen.ToJson(),
                    kind,
                });
            }
            else
            {
                Console.Out.WriteLine($"layers {chosen.NLayers}, heads {chosen.NHeads}, embedding {chosen.EmbDim}, context {chosen.ContextLength}, vocabulary {chosen.VocabSize}{(kind != null ? "; " + kind : "")}");
                Console.Out.WriteLine($"total parameters               {total,15:N0}");
                Console.Out.WriteLine($"without the output head (tied) {withoutHead,15:N0}");
                Console.Out.WriteLine($"fp32 size                      {megabytes,12:N2} MB");
            }
            return Cli.ExitOk;
        }));
        return new Command("model", "Model tools.") { info };
    }
}
