namespace LlmForge.Tests;

/// <summary>The GPT-2 downloader against a local server standing in for Hugging Face, and without network.</summary>
[Collection(SerialCollection.Name)]
public sealed class DownloadTests : IDisposable
{
    readonly string _cache = Directory.CreateTempSubdirectory("llmforge-cache").FullName;
    readonly string? _previousCache = Environment.GetEnvironmentVariable("LLMFORGE_CACHE");
    readonly FakeHub _hub = new(Path.Combine(FixtureModel.Dir, "config.json"), FixtureModel.HfSafetensors);

    public DownloadTests() => Environment.SetEnvironmentVariable("LLMFORGE_CACHE", _cache);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("LLMFORGE_CACHE", _previousCache);
        _hub.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    string Target(string file) => Path.Combine(_cache, "gpt2-124M", file);

    int _retries = 3;

    async Task<string> Download(params string[] endpoints)
    {
        using var http = Gpt2Downloader.CreateClient();
        // Retries a few milliseconds apart: the tests are about what happens, not how long it waits.
        return await new Gpt2Downloader(http, endpoints) { Retries = _retries, Backoff = TimeSpan.FromMilliseconds(10) }.DownloadAsync("124M");
    }

    [Fact]
    public async Task DownloadsVerifiesAndThenLoadsByName()
    {
        string directory = await Download(_hub.Url);
        Assert.Equal(Path.Combine(_cache, "gpt2-124M"), directory);
        Assert.Equal(File.ReadAllBytes(FixtureModel.HfSafetensors), File.ReadAllBytes(Target("model.safetensors")));
        using var loaded = ModelLoader.Load("gpt2-124M");
        var ids = LlmForge.Generation.TextGenerator.Generate(loaded.Model, FixtureModel.Ints("prompt_ids"), new() { MaxNewTokens = 20 });
        Assert.Equal(FixtureModel.Ints("greedy_20")[4..], ids);
    }

    [Fact]
    public async Task AnInterruptedDownloadResumesWithARangeRequest()
    {
        _hub.CutModelAfter = 1_000_000;
        _retries = 0; // a retry would resume it within the same run (DownloadHardeningTests); here the next run does
        var error = await Assert.ThrowsAsync<DownloadException>(() => Download(_hub.Url));
        Assert.Contains("run the command again to resume", error.Message);
        Assert.False(File.Exists(Target("model.safetensors")));
        Assert.True(new FileInfo(Target("model.safetensors.part")).Length >= 1_000_000);
        // What is on disk is never taken for a model.
        Assert.Contains("not downloaded", Assert.Throws<BadInputException>(() => ModelLoader.Load("gpt2-124M")).Message);

        long had = new FileInfo(Target("model.safetensors.part")).Length;
        await Download(_hub.Url);
        Assert.Equal($"bytes={had}-", _hub.Ranges[^1]);
        Assert.Equal(File.ReadAllBytes(FixtureModel.HfSafetensors), File.ReadAllBytes(Target("model.safetensors")));
        Assert.False(File.Exists(Target("model.safetensors.part")));
    }

    [Fact]
    public async Task AChecksumMismatchLeavesNothingBehind()
    {
        _hub.WrongChecksum = true;
        var error = await Assert.ThrowsAsync<DownloadException>(() => Download(_hub.Url));
        Assert.Contains("checksum mismatch", error.Message);
        Assert.Contains(_hub.ModelSha256, error.Message);
        Assert.False(File.Exists(Target("model.safetensors")));
        Assert.False(File.Exists(Target("model.safetensors.part")));
        Assert.True(File.Exists(Target("config.json"))); // it matched its own checksum
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    public async Task HttpErrorsAreNamedWithTheUrl(int status)
    {
        _hub.FailWith = status;
        var error = await Assert.ThrowsAsync<DownloadException>(() => Download(_hub.Url));
        Assert.Contains($"{_hub.Url}/openai-community/gpt2/resolve/main/config.json: HTTP {status}", error.Message);
        Assert.False(File.Exists(Target("config.json")));
    }

    [Fact]
    public async Task ASecondSourceIsTriedWhenTheFirstCannotBeReached()
    {
        await Download("http://127.0.0.1:1", _hub.Url);
        Assert.True(File.Exists(Target("model.safetensors")));
    }

    [Fact]
    public void WithoutNetworkTheCliFailsFastNamingTheUrlAndWhereToPutTheFiles()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = CliRunner.Run(["download", "gpt2", "--size", "124M"],
            new Dictionary<string, string> { ["LLMFORGE_CACHE"] = _cache, ["LLMFORGE_HF_ENDPOINT"] = "http://127.0.0.1:1" });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach http://127.0.0.1:1/openai-community/gpt2/resolve/main/config.json", result.Stderr);
        Assert.Contains($"put them in {Path.Combine(_cache, "gpt2-124M")}", result.Stderr);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_cache, "gpt2-124M")));
    }

    [Fact]
    public void TheCliDownloadsAndThenGeneratesByName()
    {
        var environment = new Dictionary<string, string> { ["LLMFORGE_CACHE"] = _cache, ["LLMFORGE_HF_ENDPOINT"] = _hub.Url };
        var downloaded = CliRunner.Run(["download", "gpt2", "--size", "124M", "--json"], environment);
        Assert.True(downloaded.ExitCode == 0, downloaded.Stderr);
        var json = CliRunner.Json(CliRunner.Run(["generate", "--model", "gpt2-124M", "--prompt", "Every effort moves you", "--max-new-tokens", "20", "--json"], environment));
        Assert.Equal(FixtureModel.Ints("greedy_20"), json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }
}
