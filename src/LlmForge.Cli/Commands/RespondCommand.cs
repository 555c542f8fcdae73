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
        var sampling = new SamplingOptionSet(256);
        var stream = new Option<bool>("--stream") { Description = "print the response as it is generated" };
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("respond", "Answer an instruction with an instruction-tuned model.") { model, config, instruction, input };
        foreach (var option in sampling.All.Concat([stream, device, threads, json])) command.Options.Add(option);
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            var entry = new InstructionEntry(parse.GetValue(instruction)!, parse.GetValue(input) ?? "", "");
            Prompt.RequireText(entry.Instruction, "--instruction");
            var options = sampling.Read(parse);
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config));
            ModelOptions.RequireLanguageModel(loaded, parse.GetValue(model)!);
            ComputeDevice.MoveTo(loaded.Network, onDevice);
            WeightArena.Pack(loaded.Network);
            if (loaded.Network.PromptFormat == null)
                Cli.Warn($"{parse.GetValue(model)} is not instruction-tuned (its config names no prompt format); it is given the Alpaca prompt anyway");
            if (parse.GetValue(stream) && !parse.GetValue(json))
            {
                foreach (string piece in InstructionResponses.Stream(loaded.Network, loaded.Tokenizer, entry, options))
                {
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }
                Console.Out.WriteLine();
                return Cli.ExitOk;
            }
            string response = InstructionResponses.Respond(loaded.Network, loaded.Tokenizer, entry, options);
            if (parse.GetValue(json)) Cli.WriteJson(new { response });
            else Console.Out.WriteLine(response);
            return Cli.ExitOk;
        }));
        return command;
    }
}
