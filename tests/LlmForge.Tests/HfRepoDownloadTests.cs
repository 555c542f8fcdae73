using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge download NAME</c> and <c>download --repo OWNER/NAME</c> against <see cref="FakeHub"/> standing in
/// for huggingface.co (loopback only): a sharded repository (tiny-qwen3 cut in two shards, with its index and
/// tokenizer files), resumed after a cut; gated repositories and HF_TOKEN; pickled weights refused; a shard
/// missing on the server; <c>--revision</c>; and <c>--model NAME</c> finding the download.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class HfRepoDownloadTests : IDisposable
{
    const string Qwen = "Qwen/Qwen3-0.6B", Llama = "meta-llama/Llama-3.2-1B";
    const string Shard1 = "model-00001-of-00002.safetensors", Shard2 = "model-00002-of-00002.safetensors";
    const string Token = "hf_TestToken0123456789";

    readonly string _cache = Directory.CreateTempSubdirectory("llmforge-cache").FullName;
    readonly string? _previousCache = Environment.GetEnvironmentVariable("LLMFORGE_CACHE");
    readonly FakeHub _hub = new(Path.Combine(FixtureModel.Dir, "config.json"), FixtureModel.HfSafetensors);

    public HfRepoDownloadTests() => Environment.SetEnvironmentVariable("LLMFORGE_CACHE", _cache);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("LLMFORGE_CACHE", _previousCache);
        _hub.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    /// <summary>What a model repository holds: the files LlmForge fetches, and a README and .gitattributes it does not.</summary>
    static readonly Lazy<Dictionary<string, byte[]>> ShardedFiles = new(() =>
    {
        string source = Path.Combine(TestPaths.Fixture("tiny-qwen3"), "model.safetensors");
        string temporary = Directory.CreateTempSubdirectory("llmforge-shards").FullName;
        try
        {
            var files = new Dictionary<string, byte[]>();
            var weightMap = new System.Text.Json.Nodes.JsonObject();
            using (var whole = SafeTensorsFile.Open(source))
            {
                // The embedding alone in the first shard, the rest in the second, as large repositories split.
                var names = whole.Names.Order(StringComparer.Ordinal).ToList();
                foreach (var (shard, members) in new[] { (Shard1, names.Where(n => n.Contains("embed_tokens")).ToList()), (Shard2, names.Where(n => !n.Contains("embed_tokens")).ToList()) })
                {
                    var tensors = members.Select(n => (n, whole.Read(n))).ToList();
                    SafeTensorsFile.Write(Path.Combine(temporary, shard), tensors);
                    foreach (var (_, tensor) in tensors) tensor.Dispose();
                    foreach (string n in members) weightMap[n] = shard;
                    files[shard] = File.ReadAllBytes(Path.Combine(temporary, shard));
                }
            }
            var index = new System.Text.Json.Nodes.JsonObject
            {
                ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["total_size"] = files.Values.Sum(f => f.Length) },
                ["weight_map"] = weightMap,
            };
            files["model.safetensors.index.json"] = Encoding.UTF8.GetBytes(index.ToJsonString());
            files["config.json"] = File.ReadAllBytes(Path.Combine(TestPaths.Fixture("tiny-qwen3"), "config.json"));
            files["generation_config.json"] = """{"bos_token_id": 151643, "eos_token_id": 151645}"""u8.ToArray();
            files["tokenizer.json"] = """{"version": "1.0", "added_tokens": [], "model": {"type": "BPE", "vocab": {}, "merges": []}}"""u8.ToArray();
            files["tokenizer_config.json"] = """{"add_bos_token": false}"""u8.ToArray();
            files["README.md"] = "# a model card\n"u8.ToArray();
            files[".gitattributes"] = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"u8.ToArray();
            return files;
        }
        finally
        {
            Directory.Delete(temporary, recursive: true);
        }
    });

    static readonly string[] Fetched = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json", Shard1, Shard2];

    FakeHub.Repo Serve(string id, string? gate = null)
    {
        var repo = new FakeHub.Repo { Gate = gate };
        foreach (var (name, bytes) in ShardedFiles.Value) repo.Main[name] = bytes;
        _hub.Repos[id] = repo;
        return repo;
    }

    CliRunner.Result Download(string? token, params string[] args) =>
        CliRunner.Run(["download", .. args], new Dictionary<string, string>
        {
            ["LLMFORGE_CACHE"] = _cache,
            ["LLMFORGE_HF_ENDPOINT"] = _hub.Url,
            ["HF_TOKEN"] = token ?? "", // empty is unset: the tests never see the developer's own token
        });

    string CacheDir(string id, string? revision = null) => Path.Combine([_cache, "hf", .. id.Split('/')]) + (revision != null ? $"@{revision}" : "");

    static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static string[] Errors(CliRunner.Result result) => Lines(result.Stderr).Where(l => !l.StartsWith("llmforge: warning:")).ToArray();

    List<string> Paths() { lock (_hub.Seen) return _hub.Seen.Select(s => new Uri(s.Url).AbsolutePath).ToList(); }

    void AssertWhole(string directory, FakeHub.Repo repo, string revision = "main")
    {
        Assert.Equal(Fetched.Order(StringComparer.Ordinal), Directory.EnumerateFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string file in Fetched) Assert.Equal(repo.Revisions[revision][file], File.ReadAllBytes(Path.Combine(directory, file)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // a mirror without the API: the optional files and the index are probed for
    public void AShardedRepositoryDownloadsByNameAndTheNameThenFindsIt(bool api)
    {
        var repo = Serve(Qwen);
        _hub.NoApi = !api;
        var result = Download(null, "qwen3-0.6b", "--json");
        var json = CliRunner.Json(result);
        Assert.Equal("qwen3-0.6b", json.GetProperty("model").GetString());
        Assert.Equal(Qwen, json.GetProperty("repository").GetString());
        Assert.Equal(CacheDir(Qwen), json.GetProperty("directory").GetString());
        AssertWhole(CacheDir(Qwen), repo);
        Assert.DoesNotContain(Paths(), p => p.EndsWith("README.md") || p.EndsWith(".gitattributes"));
        // The shards came from the CDN, checked against the SHA-256 the hub published: no warning.
        Assert.DoesNotContain("warning", result.Stderr);

        foreach (string name in (string[])["qwen3-0.6b", "QWEN3-0.6B", Qwen])
            Assert.Equal(CacheDir(Qwen), Gpt2Cache.Resolve(name));

        // Everything is there: a second run fetches nothing.
        _hub.Seen.Clear();
        Assert.Equal(0, Download(null, "--repo", Qwen).ExitCode);
        Assert.DoesNotContain(Paths(), p => p.Contains("/resolve/") || p.StartsWith("/lfs/"));
    }

    [Fact]
    public void AShardCutShortKeepsItsPartAndTheNextRunResumesIt()
    {
        var repo = Serve(Qwen);
        _hub.CutOnce[Shard2] = 20_000;
        var cut = Download(null, "qwen3-0.6b", "--retries", "0");
        Assert.Equal(1, cut.ExitCode);
        string error = Assert.Single(Errors(cut));
        Assert.StartsWith($"llmforge: {_hub.Url}/{Qwen}/resolve/main/{Shard2}: the connection broke after ", error);
        Assert.Contains("; run the command again to resume. Without network, download config.json, tokenizer.json,", error);
        Assert.Equal(20_000, new FileInfo(Path.Combine(CacheDir(Qwen), Shard2 + ".part")).Length);
        Assert.False(File.Exists(Path.Combine(CacheDir(Qwen), Shard2)));
        // Half a model is never taken for one.
        var notYet = Assert.Throws<BadInputException>(() => Gpt2Cache.Resolve("qwen3-0.6b"));
        Assert.StartsWith("qwen3-0.6b is not downloaded: run 'llmforge download qwen3-0.6b'", notYet.Message);

        _hub.Seen.Clear();
        _hub.Ranges.Clear();
        var resumed = Download(null, "qwen3-0.6b");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(["bytes=20000-"], _hub.Ranges);
        Assert.DoesNotContain(Paths(), p => p.EndsWith(Shard1) || p.EndsWith("config.json"));
        AssertWhole(CacheDir(Qwen), repo);
        Assert.Contains($"{Qwen} is in {CacheDir(Qwen)}; use it with --model qwen3-0.6b", resumed.Stderr);
    }

    [Fact]
    public void TheTokenGoesToTheHubAndNeverToTheCdnItRedirectsTo()
    {
        var repo = Serve(Llama, gate: Token);
        var result = Download(Token, "llama3.2-1b");
        Assert.True(result.ExitCode == 0, result.Stderr);
        AssertWhole(CacheDir(Llama), repo);
        var hub = _hub.Seen.Where(s => s.Url.StartsWith(_hub.Url + "/")).ToList();
        var cdn = _hub.Seen.Where(s => s.Url.StartsWith(_hub.CdnUrl + "/")).ToList();
        Assert.Equal(1 + Fetched.Length, hub.Count); // the API and every file
        Assert.All(hub, s => Assert.Equal($"Bearer {Token}", s.Authorization));
        Assert.Equal(2, cdn.Count); // the shards
        Assert.All(cdn, s => Assert.Null(s.Authorization));
        Assert.DoesNotContain(Token, result.Stdout + result.Stderr);
        Assert.Equal(CacheDir(Llama), Gpt2Cache.Resolve("llama3.2-1b"));
    }

    [Theory]
    [InlineData(true)]  // the API says "gated": refused before any file is asked for
    [InlineData(false)] // a mirror without the API: the first file's 401 GatedRepo says it
    public void AGatedRepositoryWithoutATokenIsOneLineSayingWhatToDo(bool api)
    {
        Serve(Llama, gate: Token);
        _hub.NoApi = !api;
        var result = Download(null, "llama3.2-1b");
        CliRunner.AssertBadInput(result, "");
        Assert.Equal($"llmforge: {Llama} is gated: accept its licence on {_hub.Url}/{Llama}, then set HF_TOKEN to an access token of that account ({_hub.Url}/settings/tokens)", Lines(result.Stderr)[0]);
        Assert.False(Directory.Exists(CacheDir(Llama)));
        Assert.Equal(api ? 0 : 1, Paths().Count(p => p.Contains("/resolve/")));
    }

    [Fact]
    public void ATokenTheHubRefusesIsNamedButNeverShown()
    {
        Serve(Llama, gate: Token);
        var result = Download("hf_NotTheRightOne", "--repo", Llama);
        CliRunner.AssertBadInput(result, $"{Llama} is gated and {_hub.Url} refused HF_TOKEN for it (HTTP 403): accept its licence on {_hub.Url}/{Llama} with the account the token belongs to, or check the token");
        Assert.DoesNotContain("hf_NotTheRightOne", result.Stderr);
        Assert.False(Directory.Exists(CacheDir(Llama)));
    }

    [Fact]
    public void AnHfTokenThatCannotBeAHeaderIsBadInputWithoutShowingIt()
    {
        Serve(Llama, gate: Token);
        var result = Download("hf_half token", "llama3.2-1b");
        CliRunner.AssertBadInput(result, "llmforge: HF_TOKEN: expected an access token (printable characters without spaces)");
        Assert.DoesNotContain("hf_half", result.Stderr);
        Assert.Empty(_hub.Seen);
    }

    [Fact]
    public void ARepositoryWithOnlyPickledWeightsIsRefusedBeforeAnythingIsWritten()
    {
        var repo = new FakeHub.Repo();
        foreach (string file in (string[])["config.json", "tokenizer.json"]) repo.Main[file] = ShardedFiles.Value[file];
        repo.Main["pytorch_model.bin"] = new byte[1000];
        _hub.Repos["someone/old-model"] = repo;
        var result = Download(null, "--repo", "someone/old-model");
        CliRunner.AssertBadInput(result, "someone/old-model has its weights only as pytorch_model.bin, not safetensors; LlmForge downloads model.safetensors or model.safetensors.index.json with its shards only");
        Assert.False(Directory.Exists(CacheDir("someone/old-model")));
        Assert.DoesNotContain(Paths(), p => p.Contains("/resolve/"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AShardMissingOnTheServerFailsAndNothingTakesItsName(bool api)
    {
        var repo = Serve(Qwen);
        repo.Main.Remove(Shard2);
        _hub.NoApi = !api;
        var result = Download(null, "qwen3-0.6b");
        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(Errors(result));
        Assert.StartsWith(api
            ? $"llmforge: {Qwen}: model.safetensors.index.json names the shard {Shard2}, which the repository does not have; no shard was downloaded"
            : $"llmforge: {Qwen}: model.safetensors.index.json names the shard {Shard2}, which the server does not have ({_hub.Url}/{Qwen}/resolve/main/{Shard2}: HTTP 404", error);
        Assert.False(File.Exists(Path.Combine(CacheDir(Qwen), Shard2)));
        Assert.False(File.Exists(Path.Combine(CacheDir(Qwen), Shard2 + ".part")));
        Assert.Equal(!api, File.Exists(Path.Combine(CacheDir(Qwen), Shard1)));
        Assert.Contains($"not downloaded from Hugging Face (no {(api ? Shard1 : Shard2)} in {CacheDir(Qwen)})", Assert.Throws<BadInputException>(() => Gpt2Cache.Resolve(Qwen)).Message);
    }

    [Fact]
    public void ARevisionIsFetchedFromThatRevisionIntoItsOwnDirectory()
    {
        var repo = Serve("someone/tiny");
        repo.Revisions["v2"] = new(repo.Main) { ["config.json"] = """{"model_type": "qwen3", "note": "v2"}"""u8.ToArray() };
        var json = CliRunner.Json(Download(null, "--repo", "someone/tiny", "--revision", "v2", "--json"));
        Assert.Equal("someone/tiny@v2", json.GetProperty("model").GetString());
        Assert.Equal(CacheDir("someone/tiny", "v2"), json.GetProperty("directory").GetString());
        AssertWhole(CacheDir("someone/tiny", "v2"), repo, "v2");
        Assert.Contains("/api/models/someone/tiny/revision/v2", Paths());
        Assert.All(Paths().Where(p => p.Contains("/resolve/")), p => Assert.Contains("/resolve/v2/", p));
        Assert.Equal(CacheDir("someone/tiny", "v2"), Gpt2Cache.Resolve("someone/tiny@v2"));
        Assert.Contains("run 'llmforge download --repo someone/tiny'", Assert.Throws<BadInputException>(() => Gpt2Cache.Resolve("someone/tiny")).Message);

        CliRunner.AssertBadInput(Download(null, "--repo", "someone/tiny", "--revision", "nope"),
            $"llmforge: --revision nope: someone/tiny on {_hub.Url} has no such branch, tag or commit");
    }

    [Fact]
    public void ARepositoryTheHubDoesNotKnowIsBadInput()
    {
        CliRunner.AssertBadInput(Download(null, "--repo", "nobody/nothing"),
            $"llmforge: nobody/nothing: no such repository on {_hub.Url} (if it is private, set HF_TOKEN)");
        Assert.False(Directory.Exists(CacheDir("nobody/nothing")));
    }

    [Theory]
    [InlineData("download: name a model (gpt2-124M,")]
    [InlineData("download nope: expected a model name (", "nope")]
    [InlineData("--repo a/b/c: expected a model name (", "--repo", "a/b/c")]
    [InlineData("--repo ../x: expected a model name (", "--repo", "../x")]
    [InlineData("--revision ../a: expected a branch, tag or commit", "x/y", "--revision", "../a")]
    [InlineData("download qwen3-0.6b --repo Qwen/Qwen3-0.6B: give the model once", "qwen3-0.6b", "--repo", Qwen)]
    [InlineData("--revision v1: gpt2-124M is downloaded from main", "gpt2-124M", "--revision", "v1")]
    public void NamesAndRevisionsAreCheckedBeforeAnyRequest(string expected, params string[] args)
    {
        CliRunner.AssertBadInput(Download(null, args), "llmforge: " + expected);
        Assert.Empty(_hub.Seen);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache));
    }

    [Fact]
    public void AModelNotDownloadedYetTellsTheCommandThatDownloadsIt()
    {
        var environment = new Dictionary<string, string> { ["LLMFORGE_CACHE"] = _cache };
        CliRunner.AssertBadInput(CliRunner.Run(["generate", "--model", "qwen3-0.6b", "--prompt", "Hi"], environment),
            $"llmforge: qwen3-0.6b is not downloaded: run 'llmforge download qwen3-0.6b', or put config.json, tokenizer.json and the safetensors weights from https://huggingface.co/{Qwen} into {CacheDir(Qwen)}");
        CliRunner.AssertBadInput(CliRunner.Run(["generate", "--model", "someone/else", "--prompt", "Hi"], environment),
            $"llmforge: someone/else: no such model file or directory, and not downloaded from Hugging Face (no config.json in {CacheDir("someone/else")}): run 'llmforge download --repo someone/else'");
    }

    [Fact]
    public void Gpt2ByNameIsGpt2BySize()
    {
        var result = Download(null, "gpt2-124M");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(File.ReadAllBytes(FixtureModel.HfSafetensors), File.ReadAllBytes(Path.Combine(_cache, "gpt2-124M", "model.safetensors")));
        Assert.Contains("use it with --model gpt2-124M", result.Stderr);
    }
}
