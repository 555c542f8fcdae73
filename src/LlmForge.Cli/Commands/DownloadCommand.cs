using System.CommandLine.Parsing;
using System.Diagnostics;

namespace LlmForge.Cli.Commands;

/// <summary>
/// <c>llmforge download NAME</c> (gpt2-124M, qwen3-0.6b, llama3.2-1b...), <c>llmforge download --repo OWNER/NAME
/// [--revision REV]</c> (any Hugging Face model repository with safetensors weights) and <c>llmforge download
/// gpt2 --size S</c>: pretrained weights, config and tokenizer into the local cache, used by name afterwards.
/// </summary>
static class DownloadCommand
{
    static string KnownNames => string.Join(", ", Gpt2Cache.Repositories.Keys.Select(size => $"gpt2-{size}").Concat(HfCache.Names.Keys));

    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = $"one of {string.Join(", ", Gpt2Cache.Repositories.Keys)}", Required = true };
        var gpt2Transfer = new TransferOptions();
        var gpt2 = new Command("gpt2", "Download GPT-2 (model.safetensors + config.json) into the cache; then --model gpt2-SIZE works everywhere.") { size };
        gpt2Transfer.AddTo(gpt2);
        gpt2.SetAction(parse => Cli.Run(() =>
        {
            var settings = gpt2Transfer.Read(parse);
            return DownloadGpt2(settings, parse.GetValue(size)!);
        }));

        var name = new Argument<string?>("name") { Description = $"a model: {KnownNames}; or OWNER/NAME", Arity = ArgumentArity.ZeroOrOne };
        var repo = new Option<string?>("--repo") { Description = "a Hugging Face model repository, OWNER/NAME (Qwen/Qwen3-0.6B), or a name as above" };
        var revision = new Option<string?>("--revision") { Description = "the branch, tag or commit to download (default main)" };
        var transfer = new TransferOptions();
        var download = new Command("download", "Download pretrained weights, config and tokenizer into the cache (~/.cache/llmforge or $LLMFORGE_CACHE); then --model NAME works everywhere. HF_TOKEN is sent to the hub for gated repositories (Meta's).")
        {
            name, repo, revision, gpt2,
        };
        transfer.AddTo(download);
        download.SetAction(parse => Cli.Run(() =>
        {
            var settings = transfer.Read(parse);
            string? given = parse.GetValue(name), byOption = parse.GetValue(repo), at = parse.GetValue(revision);
            if (given != null && byOption != null) throw new BadInputException($"download {given} --repo {byOption}: give the model once, by name or with --repo");
            string spec = given ?? byOption ?? throw new BadInputException($"download: name a model ({KnownNames}) or give --repo OWNER/NAME");
            string what = given != null ? $"download {spec}" : $"--repo {spec}";
            if (Gpt2Cache.SizeOf(spec) is string gpt2Size)
            {
                if (at != null && at != HfCache.Main)
                    throw new BadInputException($"--revision {at}: {spec} is downloaded from main; for another revision use --repo {Gpt2Cache.Repositories[gpt2Size]} --revision {at}");
                return DownloadGpt2(settings, gpt2Size);
            }
            string repository = HfCache.Names.TryGetValue(spec, out var named) ? named
                : HfCache.IsRepository(spec) ? spec
                : throw new BadInputException($"{what}: expected a model name ({KnownNames}) or OWNER/NAME, a Hugging Face model repository");
            return DownloadRepository(settings, repository, at ?? HfCache.Main);
        }));
        return download;
    }

    static int DownloadGpt2(TransferSettings settings, string size)
    {
        using var http = HubDownloader.CreateClient(settings.Timeout);
        var downloader = new Gpt2Downloader(http, settings.Endpoints);
        return Fetch(settings, downloader, () => downloader.DownloadAsync(size).GetAwaiter().GetResult(), directory =>
        {
            if (settings.Json) Cli.WriteJson(new { model = $"gpt2-{size}", directory });
            else Console.Error.WriteLine($"gpt2-{size} is in {directory}; use it with --model gpt2-{size}");
        });
    }

    static int DownloadRepository(TransferSettings settings, string repository, string revision)
    {
        string? token = HubDownloader.TokenFromEnvironment();
        using var http = HubDownloader.CreateClient(settings.Timeout);
        var downloader = new HfRepoDownloader(http, settings.Endpoints) { Token = token };
        // The shortest name that --model resolves to this download.
        string model = revision != HfCache.Main ? $"{repository}@{revision}" : HfCache.ShortName(repository) ?? repository;
        return Fetch(settings, downloader, () => downloader.DownloadAsync(repository, revision).GetAwaiter().GetResult(), directory =>
        {
            if (settings.Json) Cli.WriteJson(new { model, repository, revision, directory });
            else Console.Error.WriteLine($"{repository}{(revision == HfCache.Main ? "" : $" at {revision}")} is in {directory}; use it with --model {model}");
        });
    }

    /// <summary>Runs a download with progress on stderr (for a terminal) and warnings on their own lines; a failure is one line and exit 1.</summary>
    static int Fetch(TransferSettings settings, HubDownloader downloader, Func<string> download, Action<string> done)
    {
        var clock = Stopwatch.StartNew();
        var lastDraw = TimeSpan.Zero;
        bool lineOpen = false; // a progress line without its newline yet
        void EndLine()
        {
            if (lineOpen) Console.Error.WriteLine();
            lineOpen = false;
        }
        downloader.IdleTimeout = settings.Timeout;
        downloader.Retries = settings.Retries;
        downloader.Progress = (file, have, total) =>
        {
            if (Console.IsErrorRedirected || clock.Elapsed - lastDraw < TimeSpan.FromMilliseconds(200)) return;
            lastDraw = clock.Elapsed;
            string percent = total > 0 ? $"{100.0 * have / total,5:F1}%" : "";
            double rate = have / 1048576.0 / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            Console.Error.Write($"\r{file}: {have / 1048576.0:N1} MB {percent} {rate:N1} MB/s   ");
            lineOpen = true;
        };
        downloader.Warning = message =>
        {
            EndLine();
            Cli.Warn(message);
        };
        string directory;
        try
        {
            directory = download();
        }
        catch (DownloadException e)
        {
            EndLine();
            Cli.Error(e.Message);
            return Cli.ExitFailure;
        }
        catch
        {
            EndLine();
            throw;
        }
        EndLine();
        done(directory);
        return Cli.ExitOk;
    }

    sealed record TransferSettings(List<string> Endpoints, TimeSpan Timeout, int Retries, bool Json);

    /// <summary>The options every download takes: mirrors, time-out, retries, --json.</summary>
    sealed class TransferOptions
    {
        readonly Option<string[]> _source = new("--source") { Description = "another base URL (http or https) serving the Hugging Face layout (tried after the default)", AllowMultipleArgumentsPerToken = false };
        readonly Option<double> _timeout = new("--timeout")
        {
            Description = $"seconds to wait for a connection, a reply or the next data before a try is given up (default {HubDownloader.DefaultIdleTimeout.TotalSeconds})",
            DefaultValueFactory = _ => HubDownloader.DefaultIdleTimeout.TotalSeconds,
        };
        readonly Option<int> _retries = new("--retries") { Description = "tries after the first for a time-out, broken connection or server error, waiting 1, 2, 4... s between them (default 3)", DefaultValueFactory = _ => 3 };
        readonly Option<bool> _json = TextOptions.Json();

        public void AddTo(Command command)
        {
            command.Options.Add(_source);
            command.Options.Add(_timeout);
            command.Options.Add(_retries);
            command.Options.Add(_json);
        }

        /// <summary>Every value checked before anything is fetched or created: numbers in range, only http and https URLs.</summary>
        public TransferSettings Read(ParseResult parse)
        {
            double seconds = parse.GetValue(_timeout);
            if (!(seconds > 0 && seconds <= 86_400)) throw new BadInputException($"--timeout {seconds}: expected seconds above 0, at most 86400");
            int tries = parse.GetValue(_retries);
            if (tries is < 0 or > 100) throw new BadInputException($"--retries {tries}: expected 0 to 100");
            var endpoints = new List<string>();
            string first = Environment.GetEnvironmentVariable("LLMFORGE_HF_ENDPOINT") is { Length: > 0 } endpoint ? endpoint : HubDownloader.DefaultEndpoint;
            HttpUrl.Parse(first, "LLMFORGE_HF_ENDPOINT");
            endpoints.Add(first);
            foreach (string mirror in parse.GetValue(_source) ?? [])
            {
                HttpUrl.Parse(mirror, "--source");
                endpoints.Add(mirror);
            }
            return new TransferSettings(endpoints, TimeSpan.FromSeconds(seconds), tries, parse.GetValue(_json));
        }
    }
}
