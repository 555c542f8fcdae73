using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using LlmForge.Generation;
using LlmForge.Interop;
using LlmForge.Text;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge generate</c>: continue a prompt (chapter 5's generation).</summary>
static partial class GenerateCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var prompt = new Option<string>("--prompt") { Description = "the text to continue", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate, 0 or more (default 50); past the context the window slides", DefaultValueFactory = _ => 50 };
        var temperature = new Option<double>("--temperature") { Description = "0 (default) is greedy; any finite value above 0 samples (below about 0.01 practically greedy)", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int?>("--top-k") { Description = "sample among the k most likely tokens, k at least 1" };
        var topP = new Option<double?>("--top-p") { Description = "sample among the most likely tokens covering probability p, in (0, 1]" };
        var seed = new Option<long>("--seed") { Description = "sampling seed (default 123)", DefaultValueFactory = _ => 123 };
        var stopAtEnd = new Option<bool>("--stop-at-eos") { Description = "stop when the model writes <|endoftext|>" };
        var noCache = new Option<bool>("--no-kv-cache") { Description = "recompute the whole context at every step" };
        var stream = new Option<bool>("--stream") { Description = "print text as it is generated" };
        var dtype = ModelOptions.DType("compute in fp32 (default) or keep bf16 / fp16 weights as they are");
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("generate", "Continue a prompt with a model.")
            { model, config, prompt, maxNew, temperature, topK, topP, seed, stopAtEnd, noCache, stream, dtype, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string text = parse.GetValue(prompt)!;
            if (text.Length == 0) throw new BadInputException("--prompt is empty: generation needs at least one token");
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Seed = parse.GetValue(seed),
                UseKvCache = !parse.GetValue(noCache),
            }.Validated();

            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config), ModelOptions.ParseDType(parse.GetValue(dtype)));
            CheckSpecialTokens(text, loaded.Tokenizer);
            if (parse.GetValue(stopAtEnd) && loaded.Tokenizer is Gpt2Tokenizer gpt2 && gpt2.EndOfTextId >= 0)
                options = options with { StopTokenId = gpt2.EndOfTextId };
            int[] promptIds = loaded.Tokenizer.Encode(text);
            int vocab = loaded.Config.VocabSize;
            if (promptIds.FirstOrDefault(id => id >= vocab, -1) is var outside and >= 0)
                throw new BadInputException($"the prompt has token id {outside}, outside the model's vocabulary of {vocab}");

            try
            {
                return parse.GetValue(stream) && !parse.GetValue(json)
                    ? Stream(loaded, text, options)
                    : Complete(loaded, promptIds, options, parse.GetValue(json));
            }
            catch (NonFiniteLogitsException e)
            {
                // The model runs but cannot give a token: a failure while running (exit 1), as eval reports a NaN loss.
                Cli.Error(e.Message);
                return Cli.ExitFailure;
            }
        }));
        return command;
    }

    /// <summary>Prints the text as it comes; the prompt only once the first token is there, so a model that fails prints nothing.</summary>
    static int Stream(LoadedModel loaded, string text, GenerationOptions options)
    {
        var clock = Stopwatch.StartNew();
        bool started = false;
        foreach (string piece in TextGenerator.StreamAsync(loaded.Model, loaded.Tokenizer, text, options).ToBlockingEnumerable())
        {
            if (!started) Console.Out.Write(text);
            started = true;
            Console.Out.Write(piece);
            Console.Out.Flush();
        }
        if (!started) Console.Out.Write(text);
        Console.Out.WriteLine();
        Console.Error.WriteLine($"{clock.Elapsed.TotalSeconds:F2} s");
        return Cli.ExitOk;
    }

    static int Complete(LoadedModel loaded, int[] promptIds, GenerationOptions options, bool json)
    {
        var clock = Stopwatch.StartNew();
        int[] newIds = TextGenerator.Generate(loaded.Model, promptIds, options).ToArray();
        double seconds = clock.Elapsed.TotalSeconds;
        int[] ids = [.. promptIds, .. newIds];
        string output = loaded.Tokenizer.Decode(ids);
        double tokensPerSecond = newIds.Length / Math.Max(seconds, 1e-9);
        if (json)
        {
            Cli.WriteJson(new { ids, text = output, tokens_per_second = Math.Round(tokensPerSecond, 2) });
        }
        else
        {
            Console.Out.WriteLine(output);
            Console.Error.WriteLine($"{newIds.Length} new tokens in {seconds:F2} s ({tokensPerSecond:F1} tokens/s)");
        }
        return Cli.ExitOk;
    }

    /// <summary>A prompt may only name special tokens the tokenizer knows; others would silently become plain text.</summary>
    static void CheckSpecialTokens(string prompt, ITokenizer tokenizer)
    {
        var known = tokenizer is Gpt2Tokenizer gpt2 ? gpt2.SpecialTokens.Select(s => s.Text).ToHashSet() : [];
        foreach (Match match in SpecialTokenPattern().Matches(prompt))
            if (!known.Contains(match.Value))
                throw new BadInputException($"the prompt names the special token {match.Value}, which this model's tokenizer does not have (it knows {(known.Count == 0 ? "none" : string.Join(", ", known))})");
    }

    [GeneratedRegex(@"<\|[^|<>\s]+\|>")]
    private static partial Regex SpecialTokenPattern();
}
