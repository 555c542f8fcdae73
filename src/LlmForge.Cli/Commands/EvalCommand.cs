using LlmForge.Evaluation;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge eval</c>: a model's mean next-token loss on a text, over non-overlapping windows.</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var file = new Option<string>("--file") { Description = "a UTF-8 text file", Required = true };
        var contextLength = TextOptions.PositiveInt("--context-length", "tokens per window (at most the model's context length)");
        var batchSize = TextOptions.PositiveInt("--batch-size", "windows per forward pass (default 8)", 8);
        var dtype = ModelOptions.DType("compute in fp32 (default) or keep bf16 / fp16 weights as they are");
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("eval", "Mean next-token loss and perplexity of a model on a text.") { model, config, file, contextLength, batchSize, dtype, device, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string text = TextFile.ReadUtf8(parse.GetValue(file)!);
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device)); // before loading: a CPU-only build refuses cuda at once
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config), ModelOptions.ParseDType(parse.GetValue(dtype)));
            ModelOptions.RequireLanguageModel(loaded, parse.GetValue(model)!);
            ComputeDevice.MoveTo(loaded.Network, onDevice);
            int length = parse.GetValue(contextLength);
            TextEvaluation.RequireContextLength(loaded.Network.ContextLength, length);
            var progress = new CountProgress();
            var result = TextEvaluation.Evaluate(loaded.Network, loaded.Tokenizer.Encode(text), length, parse.GetValue(batchSize),
                (done, total) => progress.Show("eval", done, total, "windows"));
            double loss = result.Loss;
            if (!double.IsFinite(loss))
            {
                Cli.Error($"the loss is {loss}: the model's weights are not finite numbers");
                return Cli.ExitFailure;
            }
            if (parse.GetValue(json))
                Cli.WriteJson(new { loss = Math.Round(loss, 6), perplexity = Math.Round(result.Perplexity, 4), tokens = result.Tokens });
            else
                Console.Out.WriteLine($"loss {loss:F6}, perplexity {result.Perplexity:F2}, over {result.Tokens:N0} tokens ({result.Windows} windows of {length})");
            return Cli.ExitOk;
        }));
        return command;
    }
}
