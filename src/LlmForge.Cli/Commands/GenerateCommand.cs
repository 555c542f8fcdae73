using LlmForge.Text;
using LlmForge.Text.Chat;
using System.Diagnostics;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge generate</c>: continue a prompt (chapter 5's generation).</summary>
static class GenerateCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var prompt = new Option<string>("--prompt") { Description = "the text to continue", Required = true };
        var sampling = new SamplingOptionSet(50);
        var stopAtEnd = new Option<bool>("--stop-at-eos") { Description = "stop when the model writes <|endoftext|>" };
        var noCache = new Option<bool>("--no-kv-cache") { Description = "recompute the whole context at every step" };
        var stream = new Option<bool>("--stream") { Description = "print text as it is generated" };
        var dtype = ModelOptions.DType("compute in fp32 (default) or keep bf16 / fp16 weights as they are");
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var chat = new Option<bool>("--chat") { Description = "--prompt is a user's message, written in the model's chat template (Qwen3, Llama 3); prints the answer, ending at the end of the turn" };
        var system = new Option<string>("--system") { Description = "with --chat: a system message before it" };
        var noThinking = new Option<bool>("--no-thinking") { Description = "with --chat on Qwen3: its template's empty thinking block, so that it answers at once" };
        var json = TextOptions.Json();
        var command = new Command("generate", "Continue a prompt with a model, or answer it in the model's chat format.") { model, config, prompt };
        foreach (var option in sampling.All.Concat([chat, system, noThinking, stopAtEnd, noCache, stream, dtype, device, threads, json])) command.Options.Add(option);
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string text = parse.GetValue(prompt)!;
            Prompt.RequireText(text, "--prompt");
            var options = sampling.Read(parse) with { UseKvCache = !parse.GetValue(noCache) };

            string onDevice = ComputeDevice.Resolve(parse.GetValue(device)); // before loading: a CPU-only build refuses cuda at once
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config), ModelOptions.ParseDType(parse.GetValue(dtype)));
            ModelOptions.RequireLanguageModel(loaded, parse.GetValue(model)!);
            ComputeDevice.MoveTo(loaded.Network, onDevice);
            WeightArena.Pack(loaded.Network);
            bool asChat = parse.GetValue(chat);
            if (!asChat && (parse.GetValue(system) != null || parse.GetValue(noThinking)))
                throw new BadInputException("--system and --no-thinking go with --chat");
            string modelText = asChat ? ChatText(loaded, text, parse.GetValue(system), !parse.GetValue(noThinking), parse.GetValue(model)!) : text;
            int[] promptIds = Prompt.Encode(loaded.Tokenizer, modelText, loaded.Network.OutputSize);
            if (asChat) options = options with { StopTokenIds = loaded.Tokenizer.StopIds };
            else if (parse.GetValue(stopAtEnd) && loaded.Tokenizer.EndOfTextId is int endOfText)
                options = options with { StopTokenId = endOfText };

            try
            {
                // A chat prints the answer alone: the template's text is not the user's.
                return parse.GetValue(stream) && !parse.GetValue(json)
                    ? Stream(loaded, asChat ? "" : text, promptIds, options)
                    : Complete(loaded, promptIds, options, parse.GetValue(json), asChat);
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
    static int Stream(LoadedModel loaded, string text, int[] promptIds, GenerationOptions options)
    {
        var clock = Stopwatch.StartNew();
        bool started = false;
        foreach (string piece in TextGenerator.Stream(loaded.Network, loaded.Tokenizer, promptIds, options))
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

    /// <summary>The user's message (and a system message) in the model's chat template, with the assistant's turn opened.</summary>
    static string ChatText(LoadedModel loaded, string message, string? system, bool enableThinking, string spec)
    {
        if (loaded.Tokenizer is not HfBpeTokenizer hf || ChatTemplate.For(hf, enableThinking) is not { } template)
            throw new BadInputException($"--chat: {spec}'s tokenizer has no chat template (the tokenizer.json and tokenizer_config.json of Qwen3 and Llama 3 bring one)");
        List<ChatMessage> messages = system != null ? [new("system", system), new("user", message)] : [new("user", message)];
        return template.Render(messages);
    }

    static int Complete(LoadedModel loaded, int[] promptIds, GenerationOptions options, bool json, bool answerOnly = false)
    {
        var clock = Stopwatch.StartNew();
        int[] newIds = TextGenerator.Generate(loaded.Network, promptIds, options).ToArray();
        double seconds = clock.Elapsed.TotalSeconds;
        int[] ids = [.. promptIds, .. newIds];
        // An answer ends at its end-of-turn token, which is not part of it.
        int[] answer = newIds.Length > 0 && options.IsStop(newIds[^1]) ? newIds[..^1] : newIds;
        string output = answerOnly ? loaded.Tokenizer.Decode(answer) : loaded.Tokenizer.Decode(ids);
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
}
