namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge pretrain</c>: the book's chapter 5 training loop with appendix D's schedule and clipping.</summary>
static class PretrainCommand
{
    public static Command Create()
    {
        var defaults = new PretrainingOptions();
        var shared = new TrainingOptionSet(defaults, "start from these weights (any model form llmforge takes)");
        shared.BatchSize.Description = $"windows per batch (default {defaults.BatchSize})";
        shared.Out.Description = "the run directory (metrics.jsonl, loss.png, samples.txt, checkpoints/)";
        var data = new Option<string>("--data") { Description = "a UTF-8 text file, or a directory of .txt files (joined with <|endoftext|>)" };
        var valFraction = new Option<double>("--val-fraction") { Description = $"the last fraction of the text held out for validation (default {defaults.ValFraction}, the book's train_ratio 0.9; 0 for none)", DefaultValueFactory = _ => defaults.ValFraction };
        var contextLength = new Option<int?>("--context-length") { Description = "tokens per window (default: the model's context; with a preset it also sets the model's context)" };
        var stride = new Option<int?>("--stride") { Description = "tokens between window starts (default: the context length)" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "gpt2 (default) or the path of a trained tokenizer", DefaultValueFactory = _ => defaults.Tokenizer };
        var samplePrompt = new Option<string>("--sample-prompt") { Description = "prompt of the sample generated at each evaluation", DefaultValueFactory = _ => defaults.SamplePrompt };
        var sampleTokens = new Option<int>("--sample-tokens") { Description = $"tokens in each sample (default {defaults.SampleTokens}; 0 for none)", DefaultValueFactory = _ => defaults.SampleTokens };
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [data, valFraction, contextLength, stride, tokenizer, samplePrompt, sampleTokens, .. shared.All];
        var command = new Command("pretrain", "Pretrain a GPT model on text, with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(shared.Resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            ITrainer trainer = shared.StartOrResume<ITrainer>(parse, runOptions, Pretraining.Resume, (runDir, overwrite) =>
            {
                var options = shared.Read(parse, new PretrainingOptions
                {
                    Data = parse.GetValue(data) ?? throw new BadInputException("give --data: a text file or a directory of .txt files"),
                    ValFraction = parse.GetValue(valFraction),
                    ContextLength = parse.GetValue(contextLength),
                    Stride = parse.GetValue(stride),
                    Tokenizer = parse.GetValue(tokenizer)!,
                    SamplePrompt = parse.GetValue(samplePrompt)!,
                    SampleTokens = parse.GetValue(sampleTokens),
                });
                if (options.Precision == "bf16") ModelOptions.WarnIfBf16IsEmulated();
                return Pretraining.Start(options, runDir, overwrite);
            }, needs: "--data and --out");

            using (trainer)
            {
                long parameters = trainer.Model.Module.parameters().Sum(p => p.numel());
                var outcome = TrainingRunner.Run(trainer, "pretrain",
                    $"{trainer.RunDirectory}: {trainer.TotalSteps} steps, model of {parameters:N0} parameters{PresetNote((PretrainingOptions)trainer.Options, trainer.Model)}");
                if (parse.GetValue(json))
                    Cli.WriteJson(new { outcome = outcome.ToString().ToLowerInvariant(), step = trainer.Step, total_steps = trainer.TotalSteps, run = trainer.RunDirectory, checkpoint = Checkpoint.Latest(trainer.RunDirectory) });
                return TrainingRunner.ExitCode(outcome);
            }
        }));
        return command;
    }

    /// <summary>Why a preset's count differs from the book's: a shorter context has fewer position embeddings.</summary>
    static string PresetNote(PretrainingOptions options, ILanguageModel model)
    {
        if (options.Preset == null && (options.ConfigPath != null || options.Init != null) || model is not GptModel { Config: var config }) return "";
        var preset = GptConfig.Preset(options.Preset ?? "gpt2-small");
        if (preset.ContextLength == config.ContextLength || preset.VocabSize != config.VocabSize) return "";
        long fewer = (long)(preset.ContextLength - config.ContextLength) * config.EmbDim;
        return $" ({options.Preset ?? "gpt2-small"} with {config.ContextLength:N0} positions instead of {preset.ContextLength:N0}: {fewer:N0} fewer position-embedding weights than the preset's {preset.ParameterCount():N0})";
    }
}
