using LlmForge.Instruction;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge finetune instruct</c>: chapter 7's instruction fine-tuning, with LoRA as an option.</summary>
static class FinetuneInstructCommand
{
    public static Command Create()
    {
        var defaults = new InstructionOptions();
        var shared = new TrainingOptionSet(defaults,
            "start from these weights: GPT-2 (gpt2-355M ...), a pretraining run, any form generate takes, or a .pth with its --config");
        shared.Out.Description = "the run directory (metrics.jsonl, loss.png, samples.txt, checkpoints/, test-responses.json)";
        var sets = new FineTuningOptionSet(defaults, "a JSON array of {instruction, input, output}, split 85/10/5 into train / test / validation in file order",
            "the training entries (instead of --data; --validation and --test are optional, the test entries answered into test-responses.json)",
            "ids per training row at most (default: the model's context)");
        var shuffleData = new Option<bool>("--shuffle") { Description = "shuffle --data with the seed before the split" };
        var mask = new Option<bool>("--mask-instruction") { Description = "ignore the targets inside the prompt too: only the response is learned (the book's exercise 7.2)" };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = $"tokens of each test response (default {defaults.MaxNewTokens})", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [.. sets.All, shuffleData, mask, maxNewTokens, .. shared.All];
        var command = new Command("instruct", "Fine-tune a model to follow instructions (the book's chapter 7), with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(shared.Resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            var run = shared.StartOrResume(parse, runOptions, InstructionFineTuning.Resume, (runDir, overwrite) =>
            {
                var options = shared.Read(parse, sets.Read(parse, new InstructionOptions
                {
                    ShuffleData = parse.GetValue(shuffleData),
                    MaskInstruction = parse.GetValue(mask),
                    MaxNewTokens = parse.GetValue(maxNewTokens),
                }));
                if (options.Precision == "bf16") ModelOptions.WarnIfBf16IsEmulated();
                return InstructionFineTuning.Start(options, runDir, overwrite);
            });

            using (run)
            {
                var trainer = run.Trainer;
                var splits = run.Splits;
                var outcome = TrainingRunner.Run(trainer, "finetune instruct",
                    $"{trainer.RunDirectory}: {trainer.TotalSteps} steps, {splits.Train.Count:N0} / {splits.Validation.Count:N0} / {splits.Test.Count:N0} train / validation / test entries, {trainer.TrainableParameters:N0} trainable parameters");
                string? responses = null;
                if (outcome == Training.TrainingOutcome.Completed && splits.Test.Count > 0)
                {
                    var progress = new CountProgress();
                    responses = run.WriteTestResponses((done, all) => progress.Show("test responses", done, all, "entries"));
                    Console.Error.WriteLine($"responses to the {splits.Test.Count} test entries: {responses}");
                }
                if (parse.GetValue(json))
                    Cli.WriteJson(new
                    {
                        outcome = outcome.ToString().ToLowerInvariant(), step = trainer.Step, total_steps = trainer.TotalSteps, run = trainer.RunDirectory,
                        checkpoint = Interop.Checkpoint.Latest(trainer.RunDirectory), train_entries = splits.Train.Count, validation_entries = splits.Validation.Count,
                        test_entries = splits.Test.Count, trainable_parameters = trainer.TrainableParameters, test_responses = responses,
                    });
                return TrainingRunner.ExitCode(outcome);
            }
        }));
        return command;
    }
}
