using LlmForge.Classification;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge finetune classify</c>: chapter 6's spam classifier, with appendix E's LoRA as an option.</summary>
static class FinetuneClassifyCommand
{
    public static Command Create()
    {
        var defaults = new ClassificationOptions();
        var shared = new TrainingOptionSet(defaults,
            "start from these weights: GPT-2 (gpt2-124M ...), a pretraining run, any form generate takes, or a .pth with its --config");
        shared.Out.Description = "the run directory (metrics.jsonl, loss.png, accuracy.png, checkpoints/, best/)";
        var sets = new FineTuningOptionSet(defaults, "labelled texts: label<TAB>text lines (TSV), or a CSV with a header; split 70/10/20 with the seed",
            "the training set (with --validation and --test, instead of --data)",
            "ids per text, padded or cut (default: the longest training text, within the model's context)");
        var textColumn = new Option<string>("--text-column") { Description = "a CSV's text column (default text)" };
        var labelColumn = new Option<string>("--label-column") { Description = "a CSV's label column (default label)" };
        var balance = new Option<bool>("--balance") { Description = "undersample every class to the size of the smallest before the split (the book)" };
        var lastBlocks = new Option<int?>("--train-last-blocks") { Description = "transformer blocks that train, from the last, with the final norm and the head (default 1, the book; with LoRA 0)" };
        var trainAll = new Option<bool>("--train-all") { Description = "train every weight" };
        var pool = new Option<string>("--pool") { Description = "last (default, the book: the last position, padding included) or mean (over the real tokens)", DefaultValueFactory = _ => defaults.Pooling };
        var keepBest = new Option<bool>("--keep-best") { Description = "keep the model of the best validation accuracy in RUN/best/ and report the accuracies from it" };
        var dryRun = new Option<bool>("--dry-run") { Description = "build the splits and the model, print their sizes, train nothing, write nothing" };
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [.. sets.All, textColumn, labelColumn, balance, lastBlocks, trainAll, pool, keepBest, .. shared.All];
        var command = new Command("classify", "Fine-tune a model into a text classifier (the book's spam classifier), with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(dryRun).Append(shared.Resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            ClassificationOptions Options() => shared.Read(parse, sets.Read(parse, new ClassificationOptions
            {
                TextColumn = parse.GetValue(textColumn),
                LabelColumn = parse.GetValue(labelColumn),
                Balance = parse.GetValue(balance),
                TrainLastBlocks = parse.GetValue(lastBlocks),
                TrainAll = parse.GetValue(trainAll),
                Pooling = parse.GetValue(pool)!,
                KeepBest = parse.GetValue(keepBest),
            }));

            if (parse.GetValue(dryRun))
            {
                if (parse.GetValue(shared.Resume) != null) throw new BadInputException("--dry-run checks a new run; it does not take --resume");
                using var prepared = ClassifierFineTuning.Prepare(Options());
                Report(prepared, null, parse.GetValue(json));
                return Cli.ExitOk;
            }

            var run = shared.StartOrResume(parse, runOptions, ClassifierFineTuning.Resume, (runDir, overwrite) =>
            {
                var options = Options();
                if (options.Precision == "bf16") ModelOptions.WarnIfBf16IsEmulated();
                return ClassifierFineTuning.Start(options, runDir, overwrite);
            });

            using (run)
            {
                var trainer = run.Trainer;
                var outcome = TrainingRunner.Run(trainer, "finetune classify",
                    $"{trainer.RunDirectory}: {trainer.TotalSteps} steps, {run.Data.Train.Count:N0} / {run.Data.Validation.Count:N0} / {run.Data.Test.Count:N0} examples "
                    + $"({string.Join(", ", run.Data.Labels.Names)}) of {run.Data.PaddedLength} ids, {trainer.TrainableParameters:N0} trainable parameters");
                if (outcome != Training.TrainingOutcome.Completed)
                {
                    if (parse.GetValue(json))
                        Cli.WriteJson(new { outcome = outcome.ToString().ToLowerInvariant(), step = trainer.Step, total_steps = trainer.TotalSteps, run = trainer.RunDirectory, checkpoint = Checkpoint.Latest(trainer.RunDirectory) });
                    return TrainingRunner.ExitCode(outcome);
                }
                Report(run, run.Accuracies(), parse.GetValue(json));
                return Cli.ExitOk;
            }
        }));
        return command;
    }

    /// <summary>The sets' sizes and the trainable count, with the accuracies once trained (printed, or one JSON object).</summary>
    static void Report(ClassifierRun run, ClassificationAccuracies? accuracies, bool json)
    {
        var data = run.Data;
        long trainable = run.Trainer.TrainableParameters;
        if (json)
        {
            var report = new System.Text.Json.Nodes.JsonObject();
            if (accuracies != null)
            {
                report["train_accuracy"] = Math.Round(accuracies.Train, 6);
                report["validation_accuracy"] = Math.Round(accuracies.Validation, 6);
                report["test_accuracy"] = Math.Round(accuracies.Test, 6);
            }
            report["train_examples"] = data.Train.Count;
            report["validation_examples"] = data.Validation.Count;
            report["test_examples"] = data.Test.Count;
            report["trainable_parameters"] = trainable;
            report["padded_length"] = data.PaddedLength;
            report["labels"] = new System.Text.Json.Nodes.JsonArray(data.Labels.Names.Select(n => (System.Text.Json.Nodes.JsonNode?)n).ToArray());
            if (accuracies != null) report["checkpoint"] = accuracies.FromCheckpoint ?? Checkpoint.Latest(run.Trainer.RunDirectory);
            Console.Out.WriteLine(report.ToJsonString());
            return;
        }
        Console.Out.WriteLine($"{data.Train.Count:N0} / {data.Validation.Count:N0} / {data.Test.Count:N0} train / validation / test examples, labels {string.Join(", ", data.Labels.Names)}, {data.PaddedLength} ids each, {trainable:N0} trainable parameters");
        if (accuracies != null)
            Console.Out.WriteLine($"accuracy: train {accuracies.Train:P2}, validation {accuracies.Validation:P2}, test {accuracies.Test:P2}"
                + (accuracies.FromCheckpoint != null ? $" (best validation model, {accuracies.FromCheckpoint})" : ""));
    }
}
