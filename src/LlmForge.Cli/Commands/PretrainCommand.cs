using System.CommandLine;
using System.Runtime.InteropServices;
using LlmForge.Interop;
using LlmForge.Training;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge pretrain</c>: the book's chapter 5 training loop with appendix D's schedule and clipping.</summary>
static class PretrainCommand
{
    public const int ExitInterrupted = 130;

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "a UTF-8 text file, or a directory of .txt files (joined with <|endoftext|>)" };
        var output = new Option<string>("--out") { Description = "the run directory (metrics.jsonl, loss.png, samples.txt, checkpoints/)" };
        var resume = new Option<string>("--resume") { Description = "continue the run in this directory from its newest checkpoint, with its own options" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace a run already in --out" };
        var valFraction = new Option<double>("--val-fraction") { Description = "the last fraction of the text held out for validation (default 0.1, the book's train_ratio 0.9; 0 for none)", DefaultValueFactory = _ => 0.1 };
        var contextLength = new Option<int?>("--context-length") { Description = "tokens per window (default: the model's context; with a preset it also sets the model's context)" };
        var stride = new Option<int?>("--stride") { Description = "tokens between window starts (default: the context length)" };
        var batchSize = new Option<int>("--batch-size") { Description = "windows per batch (default 2)", DefaultValueFactory = _ => 2 };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "keep the windows in text order" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "gpt2 (default) or the path of a trained tokenizer", DefaultValueFactory = _ => "gpt2" };
        var preset = new Option<string>("--preset") { Description = "gpt2-small (default), gpt2-medium, gpt2-large or gpt2-xl" };
        var config = ModelOptions.Config();
        config.Description = "a model config JSON; with --init, the config of those weights";
        var init = new Option<string>("--init") { Description = "start from these weights (any model form llmforge takes)" };
        var dropout = new Option<double?>("--dropout") { Description = "dropout rate, overriding the config's" };
        var lr = new Option<double>("--lr") { Description = "peak learning rate (default 4e-4)", DefaultValueFactory = _ => 4e-4 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay, on every parameter (default 0.1)", DefaultValueFactory = _ => 0.1 };
        var warmup = new Option<int>("--warmup-steps") { Description = "linear warmup from --initial-lr to --lr over this many steps" };
        var initialLr = new Option<double?>("--initial-lr") { Description = "learning rate at step 0 of the warmup (default 0)" };
        var minLr = new Option<double?>("--min-lr") { Description = "cosine decay after warmup ends at this rate" };
        var gradClip = new Option<double?>("--grad-clip") { Description = "clip gradients to this global L2 norm" };
        var accumulation = new Option<int>("--grad-accumulation") { Description = "batches per optimiser step (default 1)", DefaultValueFactory = _ => 1 };
        var epochs = new Option<int?>("--epochs") { Description = "passes over the training data (default 1)" };
        var maxSteps = new Option<long?>("--max-steps") { Description = "optimiser steps in all (instead of --epochs)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "evaluate every N steps (default 5)", DefaultValueFactory = _ => 5 };
        var evalBatches = new Option<int>("--eval-batches") { Description = "batches of each split per evaluation (default 5)", DefaultValueFactory = _ => 5 };
        var samplePrompt = new Option<string>("--sample-prompt") { Description = "prompt of the sample generated at each evaluation", DefaultValueFactory = _ => "Every effort moves you" };
        var sampleTokens = new Option<int>("--sample-tokens") { Description = "tokens in each sample (default 50; 0 for none)", DefaultValueFactory = _ => 50 };
        var saveEvery = new Option<int>("--save-every") { Description = "save a checkpoint every N steps (default 500; always at the end)", DefaultValueFactory = _ => 500 };
        var keep = new Option<int>("--keep-checkpoints") { Description = "checkpoints kept (default 2)", DefaultValueFactory = _ => 2 };
        var seed = new Option<long>("--seed") { Description = "fixes initialisation, data order, dropout (default 123)", DefaultValueFactory = _ => 123 };
        var dtype = ModelOptions.TrainingDType();
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [data, valFraction, contextLength, stride, batchSize, noShuffle, tokenizer, preset, config, init, dropout, dtype, device,
            lr, weightDecay, warmup, initialLr, minLr, gradClip, accumulation, epochs, maxSteps, evalEvery, evalBatches,
            samplePrompt, sampleTokens, saveEvery, keep, seed, output, overwrite];
        var command = new Command("pretrain", "Pretrain a GPT model on text, with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            Trainer trainer;
            string runDir;
            if (parse.GetValue(resume) is string resumeDir)
            {
                var given = runOptions.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new BadInputException($"--resume continues with the run's own options; remove {string.Join(", ", given)}");
                runDir = resumeDir;
                trainer = Trainer.Resume(runDir);
            }
            else
            {
                runDir = parse.GetValue(output) ?? throw new BadInputException("give --data and --out for a new run, or --resume RUN");
                var options = new TrainerOptions
                {
                    Data = parse.GetValue(data) ?? throw new BadInputException("give --data: a text file or a directory of .txt files"),
                    ValFraction = parse.GetValue(valFraction),
                    ContextLength = parse.GetValue(contextLength),
                    Stride = parse.GetValue(stride),
                    BatchSize = parse.GetValue(batchSize),
                    Shuffle = !parse.GetValue(noShuffle),
                    Tokenizer = parse.GetValue(tokenizer)!,
                    Preset = parse.GetValue(preset),
                    ConfigPath = parse.GetValue(config),
                    Init = parse.GetValue(init),
                    Dropout = parse.GetValue(dropout),
                    Precision = ModelOptions.ParseTrainingPrecision(parse.GetValue(dtype)),
                    Device = ComputeDevice.Resolve(parse.GetValue(device)),
                    Lr = parse.GetValue(lr),
                    WeightDecay = parse.GetValue(weightDecay),
                    WarmupSteps = parse.GetValue(warmup),
                    InitialLr = parse.GetValue(initialLr),
                    MinLr = parse.GetValue(minLr),
                    GradClip = parse.GetValue(gradClip),
                    GradAccumulation = parse.GetValue(accumulation),
                    Epochs = parse.GetValue(epochs),
                    MaxSteps = parse.GetValue(maxSteps),
                    EvalEvery = parse.GetValue(evalEvery),
                    EvalBatches = parse.GetValue(evalBatches),
                    SamplePrompt = parse.GetValue(samplePrompt)!,
                    SampleTokens = parse.GetValue(sampleTokens),
                    SaveEvery = parse.GetValue(saveEvery),
                    KeepCheckpoints = parse.GetValue(keep),
                    Seed = parse.GetValue(seed),
                };
                trainer = Trainer.Start(options, runDir, parse.GetValue(overwrite));
                if (options.Precision == "bf16") ModelOptions.WarnIfBf16IsEmulated();
            }

            using (trainer)
            {
                var progress = new ProgressLine();
                trainer.Progress = progress.Show;
                trainer.Log = progress.Note;
                // Ctrl-C or SIGTERM: finish the current step, save, and stop.
                using var stop = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) =>
                {
                    e.Cancel = true;
                    stop.Cancel();
                };
                Console.CancelKeyPress += onCancel;
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
                {
                    context.Cancel = true;
                    stop.Cancel();
                });
                if (trainer.Notice != null) progress.Note(trainer.Notice);
                progress.Note($"{runDir}: {trainer.TotalSteps} steps, model of {trainer.Model.ParameterCount():N0} parameters{PresetNote(trainer.Options, trainer.Model.Config)}");
                var wall = System.Diagnostics.Stopwatch.StartNew();
                TrainingOutcome outcome;
                try
                {
                    outcome = trainer.Run(stop.Token);
                }
                finally
                {
                    Console.CancelKeyPress -= onCancel;
                }
                string? checkpoint = Checkpoint.Latest(runDir);
                if (parse.GetValue(json))
                    Cli.WriteJson(new { outcome = outcome.ToString().ToLowerInvariant(), step = trainer.Step, total_steps = trainer.TotalSteps, run = runDir, checkpoint });
                switch (outcome)
                {
                    case TrainingOutcome.Interrupted:
                        progress.Note($"stopped at step {trainer.Step} after {ProgressLine.Format(wall.Elapsed)}; continue with: llmforge pretrain --resume {runDir}");
                        return ExitInterrupted;
                    case TrainingOutcome.LossNotFinite:
                        return Cli.ExitFailure;
                    default:
                        progress.Note($"done: {trainer.Step} steps in {ProgressLine.Format(wall.Elapsed)}; metrics in {trainer.MetricsPath}, plot {trainer.PlotPath}, checkpoint {checkpoint}");
                        return Cli.ExitOk;
                }
            }
        }));
        return command;
    }

    /// <summary>Why a preset's count differs from the book's: a shorter context has fewer position embeddings.</summary>
    static string PresetNote(TrainerOptions options, Model.GptConfig config)
    {
        if (options.Preset == null && (options.ConfigPath != null || options.Init != null)) return "";
        var preset = Model.GptConfig.Preset(options.Preset ?? "gpt2-small");
        if (preset.ContextLength == config.ContextLength || preset.VocabSize != config.VocabSize) return "";
        long fewer = (long)(preset.ContextLength - config.ContextLength) * config.EmbDim;
        return $" ({options.Preset ?? "gpt2-small"} with {config.ContextLength:N0} positions instead of {preset.ContextLength:N0}: {fewer:N0} fewer position-embedding weights than the preset's {preset.ParameterCount():N0})";
    }
}
