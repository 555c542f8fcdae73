using System.CommandLine;
using System.Diagnostics;
using LlmForge.Interop;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge download gpt2 --size S</c>: OpenAI's GPT-2 weights into the local cache.</summary>
static class DownloadCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = $"one of {string.Join(", ", Gpt2Cache.Repositories.Keys)}", Required = true };
        var source = new Option<string[]>("--source") { Description = "another base URL serving the Hugging Face layout (tried after the default)", AllowMultipleArgumentsPerToken = false };
        var json = TextOptions.Json();
        var gpt2 = new Command("gpt2", "Download GPT-2 (model.safetensors + config.json) into the cache; then --model gpt2-SIZE works everywhere.") { size, source, json };
        gpt2.SetAction(parse => Cli.Run(() =>
        {
            string chosen = parse.GetValue(size)!;
            var endpoints = new List<string> { Environment.GetEnvironmentVariable("LLMFORGE_HF_ENDPOINT") is { Length: > 0 } endpoint ? endpoint : Gpt2Downloader.DefaultEndpoint };
            endpoints.AddRange(parse.GetValue(source) ?? []);
            using var http = Gpt2Downloader.CreateClient();
            var clock = Stopwatch.StartNew();
            var lastDraw = TimeSpan.Zero;
            var downloader = new Gpt2Downloader(http, endpoints)
            {
                Progress = (file, have, total) =>
                {
                    if (Console.IsErrorRedirected || clock.Elapsed - lastDraw < TimeSpan.FromMilliseconds(200)) return;
                    lastDraw = clock.Elapsed;
                    string percent = total > 0 ? $"{100.0 * have / total,5:F1}%" : "";
                    double rate = have / 1048576.0 / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
                    Console.Error.Write($"\r{file}: {have / 1048576.0:N1} MB {percent} {rate:N1} MB/s   ");
                },
            };
            string directory;
            try
            {
                directory = downloader.DownloadAsync(chosen).GetAwaiter().GetResult();
            }
            catch (DownloadException e)
            {
                if (!Console.IsErrorRedirected) Console.Error.WriteLine();
                Cli.Error(e.Message);
                return Cli.ExitFailure;
            }
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
            if (parse.GetValue(json)) Cli.WriteJson(new { model = $"gpt2-{chosen}", directory });
            else Console.Error.WriteLine($"gpt2-{chosen} is in {directory}; use it with --model gpt2-{chosen}");
            return Cli.ExitOk;
        }));
        return new Command("download", "Download pretrained weights.") { gpt2 };
    }
}
