using System.CommandLine;
using System.Diagnostics;
using LlmForge.Data;
using LlmForge.Text;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge tokenizer train</c>: learn a byte-level BPE vocabulary from a corpus.</summary>
static class TokenizerCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "a UTF-8 text file to learn from", Required = true };
        var vocabSize = TextOptions.PositiveInt("--vocab-size", "tokens in the vocabulary, 256 bytes and the special tokens included");
        var output = new Option<string>("--out") { Description = "directory to write (encoder.json and vocab.bpe, GPT-2's format)", Required = true };
        var special = new Option<string[]>("--special") { Description = "special tokens (default <|endoftext|>)", AllowMultipleArgumentsPerToken = true };
        var force = new Option<bool>("--force") { Description = "replace an existing tokenizer at --out" };
        var json = TextOptions.Json();
        var train = new Command("train", "Train a byte-level BPE tokenizer on a text file.") { data, vocabSize, output, special, force, json };
        train.SetAction(parse => Cli.Run(() =>
        {
            string corpus = TextFile.ReadUtf8(parse.GetValue(data)!);
            string outDir = parse.GetValue(output)!;
            if (File.Exists(outDir) || (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any() && !parse.GetValue(force)))
                throw new BadInputException($"{outDir}: already exists; choose another --out or pass --force to replace a tokenizer there");
            var specials = parse.GetValue(special) is { Length: > 0 } given ? given : [Gpt2Tokenizer.EndOfText];

            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            var trainer = new BpeTrainer
            {
                SpecialTokens = specials,
                Progress = (done, wanted) =>
                {
                    if (clock.Elapsed - lastReport < TimeSpan.FromSeconds(1) && done < wanted) return;
                    lastReport = clock.Elapsed;
                    Console.Error.Write($"\rmerges {done:N0}/{wanted:N0}  {clock.Elapsed.TotalSeconds:F1} s");
                },
            };
            var tokenizer = trainer.Train(corpus, parse.GetValue(vocabSize));
            Console.Error.WriteLine();
            tokenizer.Save(outDir);
            int requested = parse.GetValue(vocabSize);
            if (tokenizer.VocabSize < requested)
                Console.Error.WriteLine($"note: the corpus ran out of pairs seen twice; the vocabulary has {tokenizer.VocabSize:N0} tokens, not {requested:N0}");
            if (parse.GetValue(json))
                Cli.WriteJson(new { vocab_size = tokenizer.VocabSize, merges = tokenizer.Merges!.Count, out_dir = outDir, seconds = clock.Elapsed.TotalSeconds });
            else
                Console.Error.WriteLine($"trained {tokenizer.VocabSize:N0} tokens ({tokenizer.Merges!.Count:N0} merges) in {clock.Elapsed.TotalSeconds:F1} s; use it with --tokenizer {outDir}");
            return Cli.ExitOk;
        }));
        return new Command("tokenizer", "Tokenizer tools.") { train };
    }
}
