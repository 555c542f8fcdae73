using System.Globalization;
using LlmForge.Evaluation.Judge;

namespace LlmForge.Cli.Commands;

/// <summary>
/// <c>llmforge judge</c>: scores a fine-tuned model's responses from 0 to 100 with a larger judge model served by
/// Ollama or an OpenAI-compatible server (the book's chapter 7 evaluation).
/// </summary>
static class JudgeCommand
{
    const int DefaultSeed = 123; // the book's

    public static Command Create()
    {
        var responses = new Option<string>("--responses")
        {
            Description = "a JSON array of {instruction, input, output, model_response} (finetune instruct writes RUN/test-responses.json)",
            Required = true,
        };
        var endpoint = new Option<string>("--endpoint")
        {
            Description = "the judge server's URL: http://localhost:11434 for Ollama; for --api openai the host or its /v1 base URL",
            Required = true,
        };
        var judgeModel = new Option<string>("--judge-model") { Description = "the judge model's name on that server (for example llama3)", Required = true };
        var api = new Option<string>("--api") { Description = "the server's protocol: ollama (/api/chat, the default) or openai (/v1/chat/completions)", DefaultValueFactory = _ => "ollama" };
        var apiKey = new Option<string>("--api-key") { Description = "sent as a bearer token; default: LLMFORGE_JUDGE_API_KEY, or for --api openai OPENAI_API_KEY" };
        var seed = new Option<int>("--seed") { Description = $"the judge's sampling seed, with temperature 0 (default {DefaultSeed})", DefaultValueFactory = _ => DefaultSeed };
        var timeout = new Option<double>("--timeout")
        {
            Description = $"seconds to wait for each answer before trying again (default {JudgeClient.DefaultReplyTimeout.TotalSeconds})",
            DefaultValueFactory = _ => JudgeClient.DefaultReplyTimeout.TotalSeconds,
        };
        var retries = new Option<int>("--retries")
        {
            Description = $"tries after the first for a server error (5xx, 429), a time-out or a broken connection, waiting 0.5, 1, 2... s between them (default {JudgeClient.DefaultRetries})",
            DefaultValueFactory = _ => JudgeClient.DefaultRetries,
        };
        var json = TextOptions.Json();
        var command = new Command("judge", "Score each model response from 0 to 100 against the reference output with a judge model (Ollama or OpenAI API).")
        {
            responses, endpoint, judgeModel, api, apiKey, seed, timeout, retries, json,
        };
        command.SetAction(parse => Cli.Run(() =>
        {
            // Everything is checked before the first request.
            var protocol = JudgeApiNames.Parse(parse.GetValue(api));
            var target = JudgeEndpoint.Resolve(parse.GetValue(endpoint)!, protocol);
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0 && seconds <= 86_400)) throw new BadInputException($"--timeout {seconds}: expected seconds above 0, at most 86400");
            int tries = parse.GetValue(retries);
            if (tries is < 0 or > 10) throw new BadInputException($"--retries {tries}: expected 0 to 10");
            var entries = ResponseFile.Load(parse.GetValue(responses)!);
            using var judge = new JudgeClient(target, parse.GetValue(judgeModel)!, parse.GetValue(seed), ApiKey(parse.GetValue(apiKey), protocol))
            {
                ReplyTimeout = TimeSpan.FromSeconds(seconds),
                Attempts = tries + 1,
                Warning = Cli.Warn,
            };
            var progress = new CountProgress();
            JudgeResult result;
            try
            {
                result = ResponseJudge.JudgeAsync(judge, entries, (done, total) => progress.Show("judge", done, total, "entries")).GetAwaiter().GetResult();
            }
            catch (JudgeException e)
            {
                Cli.Error(Cli.OneLine(e.Message));
                return Cli.ExitFailure;
            }
            Print(result, parse.GetValue(json));
            return Cli.ExitOk;
        }));
        return command;
    }

    /// <summary>--api-key, else LLMFORGE_JUDGE_API_KEY, else (OpenAI only) OPENAI_API_KEY; an empty variable counts as unset.</summary>
    static string? ApiKey(string? given, JudgeApi api)
    {
        if (given != null) return given;
        if (Environment.GetEnvironmentVariable("LLMFORGE_JUDGE_API_KEY") is { Length: > 0 } judgeKey) return judgeKey;
        if (api == JudgeApi.OpenAI && Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 } openAIKey) return openAIKey;
        return null;
    }

    static void Print(JudgeResult result, bool json)
    {
        double? average = result.Average;
        if (json)
        {
            Cli.WriteJson(new
            {
                count = result.Count,
                scored = result.Scored,
                average = average is double value ? Math.Round(value, 4) : (double?)null,
                scores = result.Entries.Select(e => e.Score).ToArray(),
            });
            return;
        }
        for (int i = 0; i < result.Count; i++)
        {
            var entry = result.Entries[i];
            Console.Out.WriteLine(entry.Score is int score ? $"entry {i}: {score}" : $"entry {i}: unscored ({entry.Problem})");
        }
        int unscored = result.Count - result.Scored;
        string left = unscored > 0 ? $" ({unscored} unscored)" : "";
        Console.Out.WriteLine(average is double mean
            ? string.Create(CultureInfo.InvariantCulture, $"average score {mean:F2} over {result.Scored} of {result.Count} entries{left}")
            : $"no entry was scored{left}; no average");
    }
}
