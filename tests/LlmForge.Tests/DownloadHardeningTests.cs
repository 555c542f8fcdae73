namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge download gpt2</c> against servers that misbehave: no checksum and the wrong content,
/// no answer, a stall mid-transfer, a redirect off HTTP, a range past the end; and URLs that are not
/// HTTP at all. Each through the real CLI, as a user meets it.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DownloadHardeningTests : IDisposable
{
    const string ConfigPath = "/openai-community/gpt2/resolve/main/config.json";
    const string ModelPath = "/openai-community/gpt2/resolve/main/model.safetensors";

    readonly string _cache = Directory.CreateTempSubdirectory("llmforge-cache").FullName;
    readonly FakeHub _hub = new(Path.Combine(FixtureModel.Dir, "config.json"), FixtureModel.HfSafetensors);

    /// <summary>What a captive portal (a hotel or airport network) answers for any URL.</summary>
    static readonly byte[] LoginPage = "<!DOCTYPE html>\n<html><head><title>Welcome! Sign in to use the network</title></head><body><form>...</form></body></html>\n"u8.ToArray();

    public void Dispose()
    {
        _hub.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    string CacheDir => Path.Combine(_cache, "gpt2-124M");

    string Target(string file) => Path.Combine(CacheDir, file);

    /// <summary>Runs the download with the hub (or <paramref name="endpoint"/>) in place of Hugging Face.</summary>
    CliRunner.Result DownloadFrom(string? endpoint, params string[] options) =>
        CliRunner.Run(["download", "gpt2", "--size", "124M", .. options],
            new Dictionary<string, string> { ["LLMFORGE_CACHE"] = _cache, ["LLMFORGE_HF_ENDPOINT"] = endpoint ?? _hub.Url });

    CliRunner.Result Download(params string[] options) => DownloadFrom(null, options);

    static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The lines that are not warnings: a failure must be exactly one.</summary>
    static string[] Errors(CliRunner.Result result) => Lines(result.Stderr).Where(l => !l.StartsWith("llmforge: warning:")).ToArray();

    void AssertDownloadedWhole()
    {
        Assert.Equal(File.ReadAllBytes(Path.Combine(FixtureModel.Dir, "config.json")), File.ReadAllBytes(Target("config.json")));
        Assert.Equal(File.ReadAllBytes(FixtureModel.HfSafetensors), File.ReadAllBytes(Target("model.safetensors")));
        Assert.Empty(Directory.EnumerateFiles(CacheDir, "*.part"));
    }

    [Fact]
    public void AMirrorWithoutChecksumsServingALoginPageKeepsNothing()
    {
        _hub.NoChecksum = true;
        _hub.ConfigInstead = LoginPage;
        _hub.ModelInstead = LoginPage;
        for (int run = 0; run < 2; run++) // and a second run is no success either
        {
            var result = Download();
            Assert.Equal(1, result.ExitCode);
            string error = Assert.Single(Errors(result));
            Assert.Contains($"{_hub.Url}{ConfigPath}: the file is not a usable config.json (not JSON; it begins \"<!DOCTYPE html>", error);
            Assert.Contains("the server publishes no checksum; nothing was kept", error);
            Assert.Empty(Directory.EnumerateFiles(CacheDir));
        }
    }

    public static TheoryData<string> BadModels => ["login page", "random bytes", "truncated", "trailing bytes"];

    static byte[] BadModel(string kind)
    {
        byte[] model = File.ReadAllBytes(FixtureModel.HfSafetensors);
        return kind switch
        {
            "login page" => LoginPage,
            "random bytes" => RandomBytes(200_000),
            "truncated" => model[..^1000],
            "trailing bytes" => [.. model, .. new byte[1000]],
            _ => throw new ArgumentException(kind),
        };
    }

    static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(9).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [MemberData(nameof(BadModels))]
    public void AModelThatIsNotSafetensorsIsNotKeptWithoutAChecksum(string kind)
    {
        _hub.NoChecksum = true;
        _hub.ModelInstead = BadModel(kind);
        var result = Download();
        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(Errors(result));
        Assert.Contains($"{_hub.Url}{ModelPath}: the file is not a usable model.safetensors (", error);
        Assert.Contains("the server publishes no checksum; nothing was kept", error);
        Assert.False(File.Exists(Target("model.safetensors")));
        Assert.False(File.Exists(Target("model.safetensors.part")));
        // The config was good: kept, with a word that nothing but its form could be checked.
        Assert.Contains($"llmforge: warning: {_hub.Url}{ConfigPath}: the server publishes no checksum", result.Stderr);
        Assert.True(File.Exists(Target("config.json")));
    }

    [Fact]
    public void AGoodMirrorWithoutChecksumsIsUsedAndSaysSo()
    {
        _hub.NoChecksum = true;
        var result = Download();
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"llmforge: warning: {_hub.Url}{ConfigPath}: the server publishes no checksum; the file was only checked to be a well-formed config.json", result.Stderr);
        Assert.Contains($"llmforge: warning: {_hub.Url}{ModelPath}: the server publishes no checksum", result.Stderr);
        AssertDownloadedWhole();
    }

    [Fact]
    public void UnusableFilesAlreadyInTheCacheAreNotTakenForADownload()
    {
        // What an earlier download from a portal left behind.
        Directory.CreateDirectory(CacheDir);
        File.WriteAllBytes(Target("config.json"), LoginPage);
        File.WriteAllBytes(Target("model.safetensors"), RandomBytes(100_000));

        var offline = DownloadFrom("http://127.0.0.1:1");
        Assert.Equal(1, offline.ExitCode);
        Assert.Contains($"llmforge: warning: {Target("config.json")} is not a usable config.json (not JSON", offline.Stderr);
        Assert.Contains("cannot reach http://127.0.0.1:1", Assert.Single(Errors(offline)));

        var online = Download();
        Assert.True(online.ExitCode == 0, online.Stderr);
        Assert.Contains($"llmforge: warning: {Target("model.safetensors")} is not a usable model.safetensors (not safetensors", online.Stderr);
        AssertDownloadedWhole();
    }

    [Fact]
    public void AServerThatNeverAnswersIsGivenUpAfterItsRetries()
    {
        _hub.NeverAnswer = true;
        var result = Download("--timeout", "1", "--retries", "2");
        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(Lines(result.Stderr));
        Assert.StartsWith($"llmforge: {_hub.Url}{ConfigPath}: no answer within 1 s (3 tries). Without network,", error);
        Assert.Equal(3, _hub.RequestsFor(ConfigPath));
        Assert.Empty(Directory.EnumerateFiles(CacheDir));
    }

    [Fact]
    public void AStalledTransferKeepsItsPartAndTheNextRunResumesIt()
    {
        _hub.StallModelAt = 1_000_000;
        var stalled = Download("--timeout", "1", "--retries", "0");
        Assert.Equal(1, stalled.ExitCode);
        string error = Assert.Single(Lines(stalled.Stderr));
        Assert.StartsWith($"llmforge: {_hub.Url}{ModelPath}: no data for 1 s after ", error);
        Assert.Contains(" bytes; run the command again to resume. Without network,", error);
        Assert.Equal([""], _hub.Ranges);
        Assert.Equal(1_000_000, new FileInfo(Target("model.safetensors.part")).Length);
        Assert.False(File.Exists(Target("model.safetensors")));

        _hub.StallModelAt = null;
        var resumed = Download();
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal("bytes=1000000-", _hub.Ranges[^1]);
        AssertDownloadedWhole();
    }

    [Fact]
    public void AStallThatClearsIsRetriedWithinTheSameRun()
    {
        _hub.StallModelAt = 1_000_000;
        _hub.StallTimes = 1;
        var result = Download("--timeout", "2", "--retries", "1");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(["", "bytes=1000000-"], _hub.Ranges);
        AssertDownloadedWhole();
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("ftp://127.0.0.1/models")]
    [InlineData("http://")]
    public void ASourceThatIsNotAnHttpUrlIsBadInput(string source)
    {
        var result = Download("--source", source);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"llmforge: --source '{source}': expected an http:// or https:// URL", Assert.Single(Lines(result.Stderr)));
        Assert.Empty(_hub.Requests);
        Assert.False(Directory.Exists(CacheDir));
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("file:///etc")]
    [InlineData("ftp://127.0.0.1/")]
    public void AnEndpointVariableThatIsNotAnHttpUrlIsBadInput(string endpoint)
    {
        var result = DownloadFrom(endpoint);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"llmforge: LLMFORGE_HF_ENDPOINT '{endpoint}': expected an http:// or https:// URL", Assert.Single(Lines(result.Stderr)));
        Assert.False(Directory.Exists(CacheDir));
    }

    [Fact]
    public void ARedirectToAFileUrlIsRefused()
    {
        _hub.RedirectConfigTo = "file:///etc/passwd";
        var result = Download();
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"llmforge: {_hub.Url}{ConfigPath} redirects to file:///etc/passwd: only http and https URLs are followed", Assert.Single(Lines(result.Stderr)));
        Assert.Empty(Directory.EnumerateFiles(CacheDir));
    }

    [Fact]
    public void APartLongerThanTheRemoteFileStartsOver()
    {
        // Left by a different file of the same name (the repository changed, or another mirror).
        byte[] model = File.ReadAllBytes(FixtureModel.HfSafetensors);
        Directory.CreateDirectory(CacheDir);
        File.WriteAllBytes(Target("model.safetensors.part"), [.. model, .. new byte[4096]]);
        var result = Download();
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"model.safetensors.part holds", result.Stderr);
        Assert.Contains("starting that file over", result.Stderr);
        Assert.Equal([$"bytes={model.Length + 4096}-", ""], _hub.Ranges);
        AssertDownloadedWhole();
    }

    [Theory]
    [InlineData("--timeout", "0")]
    [InlineData("--timeout", "-5")]
    [InlineData("--retries", "-1")]
    public void ATimeoutOrRetryCountOutOfRangeIsBadInput(string option, string value)
    {
        var result = Download(option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"llmforge: {option} {value}: expected", Assert.Single(Lines(result.Stderr)));
        Assert.Empty(_hub.Requests);
    }
}
