using System.Diagnostics;
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
        var special = new Option<string[]>("--special") { Description = "special tokens, each written like <|name|> (default <|endoftext|>)", AllowMultipleArgumentsPerToken = true };
        var force = new Option<bool>("--force") { Description = "replace a tokenizer already at --out (a directory holding anything else is refused)" };
        var json = TextOptions.Json();
        var train = new Command("train", "Train a byte-level BPE tokenizer on a text file.") { data, vocabSize, output, special, force, json };
        train.SetAction(parse => Cli.Run(() =>
        {
            // Everything the options alone can tell is checked before the corpus is read or anything written.
            string[] specials = parse.GetValue(special) is { Length: > 0 } given ? given : [Gpt2Tokenizer.EndOfText];
            CheckSpecials(specials);
            int requested = parse.GetValue(vocabSize);
            CheckVocabSize(requested, specials.Length);
            string outDir = parse.GetValue(output)!;
            CheckOut(outDir, parse.GetValue(force));
            string dataPath = parse.GetValue(data)!;
            if (dataPath.Length == 0) throw new BadInputException("--data is empty: give the path of a UTF-8 text file");
            string corpus = TextFile.ReadUtf8(dataPath);

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
            var tokenizer = trainer.Train(corpus, requested);
            Console.Error.WriteLine();
            tokenizer.Save(outDir);
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

    /// <summary>The most tokens a vocabulary may ask for: GPT-2 has 50,257; the largest in common use about 256,000.</summary>
    const int MaxVocabSize = 1_000_000;

    /// <summary>
    /// Special tokens must be written like &lt;|endoftext|&gt;: that is how a saved tokenizer tells them from
    /// learned tokens when it is loaded again. The same one twice would take two ids for one text.
    /// </summary>
    static void CheckSpecials(string[] specials)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string s in specials)
        {
            if (!Gpt2Tokenizer.IsSpecialTokenText(s))
                throw new BadInputException($"--special '{s}': a special token is written like <|endoftext|> (<| then a name then |>)");
            if (!seen.Add(s)) throw new BadInputException($"--special {s} is given twice; give each special token once");
        }
    }

    static void CheckVocabSize(int requested, int specials)
    {
        int minimum = 256 + specials;
        if (requested < minimum)
            throw new BadInputException($"--vocab-size {requested} is too small: a byte-level vocabulary needs 256 byte tokens and {specials} special token{(specials == 1 ? "" : "s")}, at least {minimum}");
        if (requested > MaxVocabSize)
            throw new BadInputException($"--vocab-size {requested} is too large: at most {MaxVocabSize} (GPT-2 has 50257)");
    }

    /// <summary>A tokenizer directory as an output kind: encoder.json and vocab.bpe (and their temporaries).</summary>
    static readonly OutputKind TokenizerFiles = new("tokenizer",
        name => Gpt2Tokenizer.SavedFiles.Any(f => name == f || name == f + ".tmp"), (_, _) => false);

    /// <summary>
    /// --out may be new, empty, or (with --force) a tokenizer written before, whose files are then
    /// replaced. A directory holding anything else is refused, naming what is there: --force never
    /// writes into, or over, what is not a tokenizer's.
    /// </summary>
    static void CheckOut(string outDir, bool force)
    {
        if (outDir.Length == 0) throw new BadInputException("--out is empty: give the directory to write the tokenizer into");
        if (File.Exists(outDir))
            throw new BadInputException($"--out {outDir}: is a file; --out needs a directory (it gets {string.Join(" and ", Gpt2Tokenizer.SavedFiles)})");
        if (OutputDirectory.CheckAvailable(outDir, TokenizerFiles, "--out") && !force)
            throw new BadInputException($"--out {outDir}: already exists and holds a tokenizer; pass --force to replace it, or choose another --out");
    }
}
