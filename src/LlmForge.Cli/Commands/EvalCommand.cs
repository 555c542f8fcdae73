using System.CommandLine;
using LlmForge.Data;
using LlmForge.Interop;
using LlmForge.Model;
using LlmForge.Training;
using static TorchSharp.torch;

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
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("eval", "Mean next-token loss and perplexity of a model on a text.") { model, config, file, contextLength, batchSize, dtype, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string text = TextFile.ReadUtf8(parse.GetValue(file)!);
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config), ModelOptions.ParseDType(parse.GetValue(dtype)));
            int length = parse.GetValue(contextLength);
            if (length > loaded.Config.ContextLength)
                throw new BadInputException($"--context-length {length} is longer than the model's context of {loaded.Config.ContextLength}");
            int[] ids = loaded.Tokenizer.Encode(text);
            var dataset = new GptDataset(ids, length, length);
            int rows = Math.Max(1, Math.Min(parse.GetValue(batchSize), dataset.Count));
            MemoryBudget.Require(MemoryBudget.ForwardBytes(loaded.Config, (long)rows * length),
                $"a batch of {rows:N0} windows of {length:N0} tokens (logits over a vocabulary of {loaded.Config.VocabSize:N0}; a smaller --batch-size needs less)");
            var loader = new DataLoader(dataset, parse.GetValue(batchSize), dropLast: false);
            var progress = new CountProgress();

            // Sum over every window (the last batch may be smaller), then divide: the mean over all windows.
            double total = 0;
            int done = 0;
            using (no_grad())
                foreach (var batch in loader.Batches())
                {
                    using var scope = NewDisposeScope();
                    total += Loss.CalcLossBatch(loaded.Model, batch.InputTensor(), batch.TargetTensor()).item<float>() * batch.BatchSize;
                    done += batch.BatchSize;
                    progress.Show("eval", done, dataset.Count, "windows");
                }
            double loss = total / done;
            if (!double.IsFinite(loss))
            {
                Cli.Error($"the loss is {loss}: the model's weights are not finite numbers");
                return Cli.ExitFailure;
            }
            long tokens = (long)done * length;
            if (parse.GetValue(json))
                Cli.WriteJson(new { loss = Math.Round(loss, 6), perplexity = Math.Round(Math.Exp(loss), 4), tokens });
            else
                Console.Out.WriteLine($"loss {loss:F6}, perplexity {Math.Exp(loss):F2}, over {tokens:N0} tokens ({done} windows of {length})");
            return Cli.ExitOk;
        }));
        return command;
    }
}
