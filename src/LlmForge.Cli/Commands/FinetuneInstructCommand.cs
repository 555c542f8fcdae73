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
        var data = new Option<string>("--data") { Description = "a JSON array of {instruction, input, output}, split 85/10/5 into train / test / validation in file order" };
        var train = new Option<string>("--train") { Description = "the training entries (instead of --data; --validation and --test are optional)" };
        var validation = new Option<string>("--validation") { Description = "the validation entries" };
        var test = new Option<string>("--test") { Description = "the test entries, answered into test-responses.json at the end" };
        var shuffleData = new Option<bool>("--shuffle") { Description = "shuffle --data with the seed before the split" };
        var maxLength = new Option<int?>("--max-length") { Description = "ids per training row at most (default: the model's context)" };
        var mask = new Option<bool>("--mask-instruction") { Description = "ignore the targets inside the prompt too: only the response is learned (the book's exercise 7.2)" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "the tokenizer of random weights: gpt2 (default) or a trained one; loaded weights bring theirs", DefaultValueFactory = _ => defaults.Tokenizer };
        var loraRank = new Option<int?>("--lora-rank") { Description = "wrap every linear layer of the blocks and the head with LoRA adapters of this rank; only they train" };
        var loraAlpha = new Option<double?>("--lora-alpha") { Description = "LoRA's alpha: adapters' output scaled by alpha / rank (default: the rank)" };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = $"tokens of each test response (default {defaults.MaxNewTokens})", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();

        Option[] runOptions = [data, train, validation, test, shuffleData, maxLength, mask, tokenizer, loraRank, loraAlpha, maxNewTokens, .. shared.All];
        var command = new Command("instruct", "Fine-tune a model to follow instructions (the book's chapter 7), with checkpoints that resume exactly.");
        foreach (var option in runOptions.Append(shared.Resume).Append(threads).Append(json)) command.Options.Add(option);

        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            var run = shared.StartOrResume(parse, runOptions, InstructionFineTuning.Resume, (runDir, overwrite) =>
            {
                var options = shared.Read(parse, new InstructionOptions
                {
                    Data = parse.GetValue(data),
                    Train = parse.GetValue(train),
                    Validation = parse.GetValue(validation),
                    Test = parse.GetValue(test),
                    ShuffleData = parse.GetValue(shuffleData),
                    MaxLength = parse.GetValue(maxLength),
                    MaskInstruction = parse.GetValue(mask),
                    Tokenizer = parse.GetValue(tokenizer)!,
                    LoraRank = parse.GetValue(loraRank),
                    LoraAlpha = parse.GetValue(loraAlpha),
                    MaxNewTokens = parse.GetValue(maxNewTokens),
                });
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
