using LlmForge.Preference;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge finetune dpo</c>: direct preference optimisation, the book's bonus to chapter 7.</summary>
static class FinetuneDpoCommand
{
    public static Command Create()
    {
        var defaults = new DpoOptions();
        var shared = new TrainingOptionSet(defaults,
            "the model to align, usually a finetune instruct run: the policy starts from it, and a frozen copy of it is the reference");
        shared.Out.Description = "the run directory (metrics.jsonl with rewards, loss.png, rewards.png, checkpoints/)";
        var sets = new FineTuningOptionSet(defaults, "a JSON array of {instruction, input, chosen, rejected}, split 85/10/5 into train / test / validation in file order",
            "the training pairs (instead of --data; --validation and --test are optional)", "ids per sequence at most (default: the model's context)", randomWeights: false);
        var beta = new Option<double>("--beta") { Description = $"how far the policy may move from the reference (default {defaults.Beta})", DefaultValueFactory = _ => defaults.Beta };
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [.. sets.All, beta, .. shared.All];
        var command = new Command("dpo", "Align a model with preference pairs (DPO), with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(shared.Resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            var trainer = shared.StartOrResume(parse, runOptions, DpoFineTuning.Resume, (runDir, overwrite) =>
            {
                var options = shared.Read(parse, sets.Read(parse, new DpoOptions { Beta = parse.GetValue(beta) }));
                if (options.Precision == "bf16") ModelOptions.WarnIfBf16IsEmulated();
                return DpoFineTuning.Start(options, runDir, overwrite);
            });
            using (trainer)
            {
                var outcome = TrainingRunner.Run(trainer, "finetune dpo",
                    $"{trainer.RunDirectory}: {trainer.TotalSteps} steps, {trainer.TrainableParameters:N0} trainable parameters, beta {((DpoOptions)trainer.Options).Beta}");
                if (parse.GetValue(json))
                    Cli.WriteJson(new { outcome = outcome.ToString().ToLowerInvariant(), step = trainer.Step, total_steps = trainer.TotalSteps, run = trainer.RunDirectory, checkpoint = Interop.Checkpoint.Latest(trainer.RunDirectory) });
                return TrainingRunner.ExitCode(outcome);
            }
        }));
        return command;
    }
}
