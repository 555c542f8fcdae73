using LlmForge.Text;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge dataset</c>: shows how text becomes training batches (sliding windows, chapter 2).</summary>
static class DatasetCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file") { Description = "a UTF-8 text file", Required = true };
        var contextLength = TextOptions.PositiveInt("--context-length", "tokens per window (the book's max_length)");
        var stride = new Option<int?>("--stride") { Description = "tokens between window starts (default: the context length)" };
        var batchSize = TextOptions.PositiveInt("--batch-size", "windows per batch", 1);
        var take = TextOptions.PositiveInt("--take", "batches to show", 1);
        var shuffle = new Option<bool>("--shuffle") { Description = "shuffle the windows (fixed by --seed)" };
        var seed = new Option<ulong>("--seed") { Description = "shuffle seed", DefaultValueFactory = _ => 123 };
        var tokenizer = TextOptions.Tokenizer();
        var json = TextOptions.Json();
        var command = new Command("dataset", "Show the input and target batches a text gives.")
            { file, contextLength, stride, batchSize, take, shuffle, seed, tokenizer, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            string text = TextFile.ReadUtf8(parse.GetValue(file)!);
            var chosen = TokenizerLoader.Load(parse.GetValue(tokenizer)!, text);
            int[] ids = chosen.Encode(text);
            int length = parse.GetValue(contextLength);
            var dataset = new GptDataset(ids, length, parse.GetValue(stride) ?? length);
            var loader = new DataLoader(dataset, parse.GetValue(batchSize), parse.GetValue(shuffle), dropLast: true, parse.GetValue(seed));
            var batches = loader.Batches().Take(parse.GetValue(take)).ToList();
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new
                {
                    tokens = ids.Length,
                    windows = dataset.Count,
                    batches = batches.Select(b => new
                    {
                        inputs = Enumerable.Range(0, b.BatchSize).Select(b.InputRow),
                        targets = Enumerable.Range(0, b.BatchSize).Select(b.TargetRow),
                    }),
                });
                return Cli.ExitOk;
            }
            Console.Out.WriteLine($"{ids.Length:N0} tokens -> {dataset.Count:N0} windows of {length} -> {loader.Count:N0} batches of {loader.BatchSize}");
            for (int i = 0; i < batches.Count; i++)
            {
                Console.Out.WriteLine($"batch {i}");
                for (int r = 0; r < batches[i].BatchSize; r++)
                {
                    Console.Out.WriteLine($"  inputs  [{string.Join(", ", batches[i].InputRow(r))}]");
                    Console.Out.WriteLine($"  targets [{string.Join(", ", batches[i].TargetRow(r))}]");
                }
            }
            return Cli.ExitOk;
        }));
        return command;
    }
}
