using System.Diagnostics;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge download gpt2 --size S</c>: OpenAI's GPT-2 weights into the local cache.</summary>
static class DownloadCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = $"one of {string.Join(", ", Gpt2Cache.Repositories.Keys)}", Required = true };
        var source = new Option<string[]>("--source") { Description = "another base URL (http or https) serving the Hugging Face layout (tried after the default)", AllowMultipleArgumentsPerToken = false };
        var timeout = new Option<double>("--timeout")
        {
            Description = $"seconds to wait for a connection, a reply or the next data before a try is given up (default {Gpt2Downloader.DefaultIdleTimeout.TotalSeconds})",
            DefaultValueFactory = _ => Gpt2Downloader.DefaultIdleTimeout.TotalSeconds,
        };
        var retries = new Option<int>("--retries") { Description = "tries after the first for a time-out, broken connection or server error, waiting 1, 2, 4... s between them (default 3)", DefaultValueFactory = _ => 3 };
        var json = TextOptions.Json();
        var gpt2 = new Command("gpt2", "Download GPT-2 (model.safetensors + config.json) into the cache; then --model gpt2-SIZE works everywhere.") { size, source, timeout, retries, json };
        gpt2.SetAction(parse => Cli.Run(() =>
        {
            string chosen = parse.GetValue(size)!;
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0 && seconds <= 86_400)) throw new BadInputException($"--timeout {seconds}: expected seconds above 0, at most 86400");
            int tries = parse.GetValue(retries);
            if (tries is < 0 or > 100) throw new BadInputException($"--retries {tries}: expected 0 to 100");
            // Every URL is checked before anything is fetched or created: only http and https.
            var endpoints = new List<string>();
            string first = Environment.GetEnvironmentVariable("LLMFORGE_HF_ENDPOINT") is { Length: > 0 } endpoint ? endpoint : Gpt2Downloader.DefaultEndpoint;
            HttpUrl.Parse(first, "LLMFORGE_HF_ENDPOINT");
            endpoints.Add(first);
            foreach (string mirror in parse.GetValue(source) ?? [])
            {
                HttpUrl.Parse(mirror, "--source");
                endpoints.Add(mirror);
            }

            using var http = Gpt2Downloader.CreateClient(TimeSpan.FromSeconds(seconds));
            var clock = Stopwatch.StartNew();
            var lastDraw = TimeSpan.Zero;
            bool lineOpen = false; // a progress line without its newline yet
            void EndLine()
            {
                if (lineOpen) Console.Error.WriteLine();
                lineOpen = false;
            }
            var downloader = new Gpt2Downloader(http, endpoints)
            {
                IdleTimeout = TimeSpan.FromSeconds(seconds),
                Retries = tries,
                Progress = (file, have, total) =>
                {
                    if (Console.IsErrorRedirected || clock.Elapsed - lastDraw < TimeSpan.FromMilliseconds(200)) return;
                    lastDraw = clock.Elapsed;
                    string percent = total > 0 ? $"{100.0 * have / total,5:F1}%" : "";
                    double rate = have / 1048576.0 / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
                    Console.Error.Write($"\r{file}: {have / 1048576.0:N1} MB {percent} {rate:N1} MB/s   ");
                    lineOpen = true;
                },
                Warning = message =>
                {
                    EndLine();
                    Cli.Warn(message);
                },
            };
            string directory;
            try
            {
                directory = downloader.DownloadAsync(chosen).GetAwaiter().GetResult();
            }
            catch (DownloadException e)
            {
                EndLine();
                Cli.Error(e.Message);
                return Cli.ExitFailure;
            }
            EndLine();
            if (parse.GetValue(json)) Cli.WriteJson(new { model = $"gpt2-{chosen}", directory });
            else Console.Error.WriteLine($"gpt2-{chosen} is in {directory}; use it with --model gpt2-{chosen}");
            return Cli.ExitOk;
        }));
        return new Command("download", "Download pretrained weights.") { gpt2 };
    }
}
