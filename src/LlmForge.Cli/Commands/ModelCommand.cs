using System.Text.Json.Nodes;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge model info</c>: parameters and memory of a model, as the book counts them (chapter 4).</summary>
static class ModelCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"one of {string.Join(", ", GptConfig.Presets.Keys.Concat(LlamaConfig.Presets.Keys))}" };
        var config = new Option<string>("--config") { Description = "a model config JSON" };
        var model = new Option<string>("--model") { Description = "a model file or directory" };
        var json = TextOptions.Json();
        var info = new Command("info", "Count a model's parameters and its fp32 memory.") { preset, config, model, json };
        info.SetAction(parse => Cli.Run(() =>
        {
            string? presetName = parse.GetValue(preset), configPath = parse.GetValue(config), modelPath = parse.GetValue(model);
            if ((presetName != null ? 1 : 0) + (modelPath != null ? 1 : 0) + (configPath != null && modelPath == null ? 1 : 0) != 1)
                throw new BadInputException("give exactly one of --preset, --config and --model");
            // Any family: the description line, the config as JSON, and the counts.
            string shape;
            JsonObject configJson;
            long total, withoutHead;
            string? kind = null;
            if (modelPath != null)
            {
                // A loaded model is counted as it is: a classifier's head, LoRA adapters included.
                using var loaded = ModelLoader.Load(modelPath, configPath);
                var parameters = loaded.Network.Module.named_parameters().ToList();
                total = parameters.Sum(p => p.parameter.numel());
                withoutHead = parameters.Where(p => !p.name.StartsWith("out_head.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
                (shape, configJson) = loaded.Network switch
                {
                    LlamaModel llama => (Describe(llama.Config), llama.Config.ToJson()),
                    _ => (Describe(loaded.Config), loaded.Config.ToJson()),
                };
                if (loaded.Labels is { } labels) kind = $"a classifier of {labels.Count} classes ({string.Join(", ", labels)})";
                if (LoRA.Settings(loaded.Network) is var (rank, alpha)) kind = (kind == null ? "" : kind + ", ") + $"LoRA rank {rank}, alpha {alpha}";
            }
            else if ((presetName != null ? LlamaConfig.TryPreset(presetName) : LlamaLoader.IsLlamaFamily(configPath!) ? LlamaConfig.Load(configPath!) : null) is { } family)
            {
                total = family.ParameterCount();
                // A tied head is the embedding itself; an untied one is a vocabulary × hidden matrix of its own.
                withoutHead = family.TieWordEmbeddings ? total : total - (long)family.VocabSize * family.HiddenSize;
                (shape, configJson) = (Describe(family), family.ToJson());
            }
            else
            {
                var chosen = presetName != null ? GptConfig.Preset(presetName) : GptConfig.Load(configPath!);
                (total, withoutHead) = (chosen.ParameterCount(), chosen.ParameterCount(includeOutputHead: false));
                (shape, configJson) = (Describe(chosen), chosen.ToJson());
            }
            double megabytes = total * 4.0 / (1024 * 1024);
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new
                {
                    total_parameters = total,
                    parameters_without_output_head = withoutHead,
                    fp32_megabytes = Math.Round(megabytes, 2),
                    config = configJson,
                    kind,
                });
            }
            else
            {
                Console.Out.WriteLine(shape + (kind != null ? "; " + kind : ""));
                Console.Out.WriteLine($"total parameters               {total,15:N0}");
                Console.Out.WriteLine($"without the output head (tied) {withoutHead,15:N0}");
                Console.Out.WriteLine($"fp32 size                      {megabytes,12:N2} MB");
            }
            return Cli.ExitOk;
        }));
        return new Command("model", "Model tools.") { info };
    }

    static string Describe(GptConfig c) => $"gpt2: layers {c.NLayers}, heads {c.NHeads}, embedding {c.EmbDim}, context {c.ContextLength}, vocabulary {c.VocabSize}";

    static string Describe(LlamaConfig c) =>
        $"{c.ModelType}: layers {c.NumLayers}, query heads {c.NumHeads}, key/value heads {c.NumKvHeads}, head size {c.HeadDim}, hidden {c.HiddenSize}, "
        + $"feed-forward {c.IntermediateSize}, context {c.ContextLength}, vocabulary {c.VocabSize}{(c.TieWordEmbeddings ? ", head tied to the embedding" : "")}";
}
