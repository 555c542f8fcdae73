using LlmForge.Instruction;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge respond</c>: an instruction-tuned model's answer, the prompt written in its format (Alpaca).</summary>
static class RespondCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        model.Description = "an instruction-tuned model (a finetune instruct run or checkpoint); a base model is given the Alpaca prompt too";
        var config = ModelOptions.Config();
        var instruction = new Option<string>("--instruction") { Description = "what to do", Required = true };
        var input = new Option<string>("--input") { Description = "the text it applies to (optional)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens at most (default 256)", DefaultValueFactory = _ => 256 };
        var temperature = new Option<double>("--temperature") { Description = "0 (default) is greedy; above 0 samples", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int?>("--top-k") { Description = "sample among the k most likely tokens" };
        var topP = new Option<double?>("--top-p") { Description = "sample among the most likely tokens covering probability p" };
        var seed = new Option<long>("--seed") { Description = "sampling seed (default 123)", DefaultValueFactory = _ => 123 };
        var stream = new Option<bool>("--stream") { Description = "print the response as it is generated" };
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("respond", "Answer an instruction with an instruction-tuned model.")
            { model, config, instruction, input, maxNew, temperature, topK, topP, seed, stream, device, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            var entry = new InstructionEntry(parse.GetValue(instruction)!, parse.GetValue(input) ?? "", "");
            Prompt.RequireText(entry.Instruction, "--instruction");
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
            }.Validated();
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config));
            ModelOptions.RequireLanguageModel(loaded, parse.GetValue(model)!);
            ComputeDevice.MoveTo(loaded.Model, onDevice);
            if (loaded.Model.PromptFormat == null)
                Cli.Warn($"{parse.GetValue(model)} is not instruction-tuned (its config names no prompt format); it is given the Alpaca prompt anyway");
            if (parse.GetValue(stream) && !parse.GetValue(json))
            {
                foreach (string piece in InstructionResponses.Stream(loaded.Model, loaded.Tokenizer, entry, options))
                {
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }
                Console.Out.WriteLine();
                return Cli.ExitOk;
            }
            string response = InstructionResponses.Respond(loaded.Model, loaded.Tokenizer, entry, options);
            if (parse.GetValue(json)) Cli.WriteJson(new { response });
            else Console.Out.WriteLine(response);
            return Cli.ExitOk;
        }));
        return command;
    }
}
