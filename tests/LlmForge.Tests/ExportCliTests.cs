namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge export</c> as a user runs it: what <c>--overwrite</c> may delete, the temporaries a
/// killed export leaves, and the tokenizer and generation files Hugging Face loaders expect.
/// </summary>
public sealed class ExportCliTests() : ScratchDirectory("llmforge-export-cli")
{
    static readonly string Fixture = FixtureModel.Dir;

    static CliRunner.Result RunIn(string workingDirectory, params string[] args) => CliRunner.RunIn(workingDirectory, args);

    string ExportFixture(string name)
    {
        string dir = Path.Combine(_dir, name);
        var result = CliRunner.Run("export", "--model", Fixture, "--out", dir);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return dir;
    }

    static string[] Listing(string dir) => Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
        .Select(e => Path.GetRelativePath(dir, e) + ":" + (File.Exists(e) ? new FileInfo(e).Length : -1)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void OverwriteNeverDeletesTheCurrentDirectory()
    {
        string work = ExportFixture("work");
        var before = Listing(work);
        var result = RunIn(work, "export", "--model", Fixture, "--out", ".", "--overwrite");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("llmforge: --out .: is the current directory or a parent of it; --overwrite never deletes it, choose a directory of its own\n", result.Stderr);
        Assert.Equal(before, Listing(work));
        Assert.Empty(Directory.EnumerateDirectories(_dir, ".tmp-export-*"));
    }

    [Fact]
    public void TheDownloadCacheIsNeverTakenForAnEarlierExport()
    {
        // Downloaded GPT-2 weights carry an export's file names; --overwrite must not replace them.
        string cache = Path.Combine(_dir, "cache");
        string downloaded = Path.Combine(cache, "gpt2-124M");
        Directory.CreateDirectory(downloaded);
        foreach (var file in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Fixture, file), Path.Combine(downloaded, file));
        var before = Listing(cache);
        var result = CliRunner.Run(["export", "--model", Fixture, "--out", downloaded, "--overwrite"], new Dictionary<string, string> { ["LLMFORGE_CACHE"] = cache });
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is inside LlmForge's download cache", result.Stderr);
        Assert.Equal(before, Listing(cache));
    }

    [Fact]
    public void AnEmptyCurrentDirectoryTakesAnExport()
    {
        string work = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var result = RunIn(work, "export", "--model", Fixture, "--out", ".");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(HfGpt2Export.FileNames.Order(StringComparer.Ordinal), Directory.EnumerateFileSystemEntries(work).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var loaded = ModelLoader.Load(work);
        Assert.Equal("huggingface", loaded.Layout);
    }

    [Fact]
    public void ATrainingRunIsNeverReplaced()
    {
        string run = Path.Combine(_dir, "run");
        var train = CliRunner.Run("pretrain", "--data", TestPaths.Verdict, "--config", TestPaths.TinyConfig,
            "--context-length", "16", "--batch-size", "2", "--max-steps", "1", "--eval-every", "1", "--eval-batches", "1", "--sample-tokens", "1", "--save-every", "1", "--out", run);
        Assert.True(train.ExitCode == 0, train.Stderr);
        var before = Listing(run);
        foreach (var args in new[] { new[] { "--overwrite" }, [] })
        {
            var result = CliRunner.Run(["export", "--model", run, "--out", run, .. args]);
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith($"llmforge: --out {run}: holds files that are not an LlmForge export's (", result.Stderr);
            Assert.Contains("checkpoints, loss.png, metrics.jsonl", result.Stderr);
            Assert.DoesNotContain("pass --overwrite", result.Stderr);
            Assert.Equal(before, Listing(run));
        }
    }

    [Fact]
    public void ADirectoryWithAUserFileIsRefusedWithoutSuggestingOverwrite()
    {
        string dir = ExportFixture("mixed");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var before = Listing(dir);
        foreach (var args in new[] { new[] { "--overwrite" }, [] })
        {
            var result = CliRunner.Run(["export", "--model", Fixture, "--out", dir, .. args]);
            Assert.Equal(2, result.ExitCode);
            Assert.Equal($"llmforge: --out {dir}: holds files that are not an LlmForge export's (notes.txt); choose a new or empty directory\n", result.Stderr);
            Assert.Equal(before, Listing(dir));
        }
    }

    [Fact]
    public void AnEarlierExportIsReplacedOnlyWithOverwrite()
    {
        string dir = ExportFixture("again");
        var refused = CliRunner.Run("export", "--model", Fixture, "--out", dir, "--dtype", "fp16");
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"llmforge: --out {dir}: holds an earlier export; pass --overwrite to replace it, or choose another --out\n", refused.Stderr);
        long fp32 = new FileInfo(Path.Combine(dir, "model.safetensors")).Length;

        var replaced = CliRunner.Run("export", "--model", Fixture, "--out", dir, "--dtype", "fp16", "--overwrite");
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        Assert.True(new FileInfo(Path.Combine(dir, "model.safetensors")).Length < fp32 * 0.55);
        Assert.Equal(HfGpt2Export.FileNames.Order(StringComparer.Ordinal), Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.EnumerateDirectories(_dir, ".tmp-export-*"));
    }

    [Fact]
    public void OverwriteNeverDeletesTheModelOrConfigItExports()
    {
        string dir = ExportFixture("input");
        var before = Listing(dir);
        var model = CliRunner.Run("export", "--model", dir, "--out", dir, "--dtype", "bf16", "--overwrite");
        Assert.Equal(2, model.ExitCode);
        Assert.Equal($"llmforge: --out {dir}: holds --model {dir}; --overwrite would delete it, choose another --out\n", model.Stderr);
        string config = Path.Combine(dir, "config.json");
        var configured = CliRunner.Run("export", "--model", FixtureModel.BookPth, "--config", config, "--out", dir, "--overwrite");
        Assert.Equal(2, configured.ExitCode);
        Assert.Equal($"llmforge: --out {dir}: holds --config {config}; --overwrite would delete it, choose another --out\n", configured.Stderr);
        Assert.Equal(before, Listing(dir));
    }

    [Fact]
    public void AKilledExportsTemporaryIsRemovedByTheNextButALiveOnesIsKept()
    {
        // A process id above any kernel's pid_max never runs; this test's own process does.
        string stale = Directory.CreateDirectory(Path.Combine(_dir, $".tmp-export-99999999-{Guid.NewGuid():N}")).FullName;
        File.WriteAllBytes(Path.Combine(stale, "model.safetensors"), new byte[1000]);
        string live = Directory.CreateDirectory(Path.Combine(_dir, $".tmp-export-{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;
        File.WriteAllBytes(Path.Combine(live, "model.safetensors"), new byte[1000]);
        string foreign = Directory.CreateDirectory(Path.Combine(_dir, ".tmp-export-notes")).FullName;

        ExportFixture("out");
        Assert.False(Directory.Exists(stale));
        Assert.True(File.Exists(Path.Combine(live, "model.safetensors")));
        Assert.True(Directory.Exists(foreign));
    }

    [Fact]
    public void AnInterruptedReplacementIsNotAModelAndOverwriteRecoversIt()
    {
        // What a kill between removing the old weights and moving the new ones in leaves.
        string dir = ExportFixture("interrupted");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var generate = CliRunner.Run("generate", "--model", dir, "--prompt", "Hi", "--max-new-tokens", "1");
        Assert.Equal(2, generate.ExitCode);
        Assert.Contains("not a model directory (no model.safetensors", generate.Stderr);
        var again = CliRunner.Run("export", "--model", Fixture, "--out", dir);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("pass --overwrite", again.Stderr);
        var recovered = CliRunner.Run("export", "--model", Fixture, "--out", dir, "--overwrite");
        Assert.True(recovered.ExitCode == 0, recovered.Stderr);
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
    }

    [Fact]
    public void TheExportCarriesGpt2sTokenizerAndGenerationConfig()
    {
        string dir = Path.Combine(_dir, "hf");
        var result = CliRunner.Run("export", "--model", Fixture, "--out", dir, "--json");
        var json = CliRunner.Json(result);
        Assert.Equal(HfGpt2Export.FileNames, json.GetProperty("files").EnumerateArray().Select(e => e.GetString()));

        // vocab.json and merges.txt are OpenAI's encoder.json and vocab.bpe.
        string openAi = TestPaths.Gpt3EncoderDir;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Path.Combine(openAi, "encoder.json"))), JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "vocab.json")))));
        string[] merges = File.ReadAllText(Path.Combine(dir, "merges.txt")).Split('\n');
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal("", merges[^1]); // GPT2Tokenizer reads the lines between the first and the last newline
        string[] openAiMerges = File.ReadAllLines(Path.Combine(openAi, "vocab.bpe")).Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.Equal(50000, openAiMerges.Length);
        Assert.Equal(openAiMerges, merges[1..^1]);

        // Read back as a tokenizer, they give GPT-2's ids.
        var reread = Gpt2Tokenizer.FromOpenAiFiles(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
        string verdict = File.ReadAllText(TestPaths.Verdict) + Gpt2Tokenizer.EndOfText + " naïve café 🤖";
        Assert.Equal(TokenizerLoader.Gpt2Default.Encode(verdict), reread.Encode(verdict));

        // tokenizer.json holds the same vocabulary and merges for the fast tokenizers.
        var fast = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!;
        Assert.Equal("BPE", fast["model"]!["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "vocab.json"))), fast["model"]!["vocab"]));
        Assert.Equal(openAiMerges, fast["model"]!["merges"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("ByteLevel", fast["pre_tokenizer"]!["type"]!.GetValue<string>());
        Assert.False(fast["pre_tokenizer"]!["add_prefix_space"]!.GetValue<bool>());
        Assert.Equal("ByteLevel", fast["decoder"]!["type"]!.GetValue<string>());
        var added = Assert.Single(fast["added_tokens"]!.AsArray())!;
        Assert.Equal(50256, added["id"]!.GetValue<int>());
        Assert.Equal("<|endoftext|>", added["content"]!.GetValue<string>());
        Assert.True(added["special"]!.GetValue<bool>());

        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
        Assert.Equal("GPT2Tokenizer", tokenizerConfig["tokenizer_class"]!.GetValue<string>());
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["n_positions"]!.GetValue<int>(), tokenizerConfig["model_max_length"]!.GetValue<int>());
        Assert.False(tokenizerConfig["add_prefix_space"]!.GetValue<bool>());
        var specials = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "special_tokens_map.json")))!;
        foreach (var key in new[] { "bos_token", "eos_token", "unk_token" })
        {
            Assert.Equal("<|endoftext|>", tokenizerConfig[key]!.GetValue<string>());
            Assert.Equal("<|endoftext|>", specials[key]!.GetValue<string>());
        }
        var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "generation_config.json")))!;
        Assert.Equal(50256, generation["bos_token_id"]!.GetValue<int>());
        Assert.Equal(50256, generation["eos_token_id"]!.GetValue<int>());
    }

    [Fact]
    public void ATrainedTokenizerInTheCheckpointIsTheOneExported()
    {
        string text = File.ReadAllText(TestPaths.Verdict);
        var trained = new BpeTrainer().Train(text, 300);
        TorchSharp.torch.manual_seed(1);
        using var model = new LlmForge.Model.GptModel(new LlmForge.Model.GptConfig { VocabSize = 300, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 1 });
        string checkpoint = LlmForge.Interop.Checkpoint.Save(Path.Combine(_dir, "trained"), model, trained);

        string dir = Path.Combine(_dir, "trained-hf");
        var result = CliRunner.Run("export", "--model", checkpoint, "--out", dir);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var reread = Gpt2Tokenizer.FromOpenAiFiles(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
        Assert.Equal(300, reread.VocabSize);
        Assert.Equal(trained.Encode(text), reread.Encode(text));
        Assert.NotEqual(TokenizerLoader.Gpt2Default.Encode(text), reread.Encode(text));
        var generation = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "generation_config.json")))!;
        Assert.Equal(trained.EndOfTextId, generation["eos_token_id"]!.GetValue<int>());
        Assert.Equal(trained.EndOfTextId, JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["eos_token_id"]!.GetValue<int>());
        // LlmForge takes the export back with the exported tokenizer, not GPT-2's.
        using var loaded = ModelLoader.Load(dir);
        Assert.Equal(trained.Encode(text), loaded.Tokenizer.Encode(text));
    }
}
