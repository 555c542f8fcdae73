namespace LlmForge.Tests;

/// <summary>The training options are declared once: the command line takes its defaults from the trainer's options record.</summary>
public sealed class TrainingOptionsTests() : ScratchDirectory("llmforge-training-options")
{
    [Fact]
    public void PretrainDefaultsAreThoseOfPretrainingOptions()
    {
        string run = Path.Combine(_dir, "run");
        var result = CliRunner.Run("pretrain", "--data", TestPaths.Verdict, "--config", TestPaths.TinyConfig, "--context-length", "16",
            "--max-steps", "1", "--sample-tokens", "0", "--out", run);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "options.json")))!.AsObject();
        var defaults = new PretrainingOptions().ToJson().AsObject();
        string[] given = ["data", "config_path", "context_length", "max_steps", "sample_tokens"];
        var compared = defaults.Where(d => !given.Contains(d.Key)).ToList();
        Assert.True(compared.Count >= 15, $"only {compared.Count} defaults compared");
        foreach (var (key, value) in compared)
            Assert.True(JsonNode.DeepEquals(value, written[key]), $"{key}: the command wrote {written[key]?.ToJsonString()}, the record's default is {value?.ToJsonString()}");
    }

    [Fact]
    public void HelpStatesTheRecordsDefaults()
    {
        var help = CliRunner.Run("pretrain", "--help");
        var defaults = new PretrainingOptions();
        Assert.Contains($"(default {defaults.EvalEvery}; always at the end)", help.Stdout);
        Assert.Contains($"checkpoints kept (default {defaults.KeepCheckpoints})", help.Stdout);
        Assert.Contains("peak learning rate (default 0.0004)", help.Stdout);
    }

    [Fact]
    public void ModelChoiceTakesOneOfPresetConfigAndWeights()
    {
        var options = new PretrainingOptions { Data = TestPaths.Verdict, Preset = "gpt2-small", ConfigPath = TestPaths.TinyConfig };
        Assert.Equal("give one of --preset, --config and --init (with --init, --config describes the weights)", Assert.Throws<BadInputException>(() => options.Validated()).Message);
        var bench = CliRunner.Run("bench", "train", "--preset", "gpt2-small", "--config", TestPaths.TinyConfig);
        BadInputAssert.OneLine(bench, "give one of --preset and --config");
    }

    [Fact]
    public void OnlyGpt2sOwnTokenizerIsLeftOutOfACheckpoint()
    {
        Assert.Null(TokenizerLoader.ToBundle(TokenizerLoader.Gpt2Default));
        var simple = SimpleTokenizer.FromText("a b c");
        Assert.Equal("the simple tokenizer cannot be saved with a model; use gpt2, a trained BPE tokenizer or a tokenizer.json", Assert.Throws<BadInputException>(() => TokenizerLoader.ToBundle(simple)).Message);
        Assert.Equal("--tokenizer simple builds its vocabulary from one text and cannot be saved with a model; train a BPE tokenizer instead", Assert.Throws<BadInputException>(() => TokenizerLoader.ForModel("simple")).Message);
    }

    [Fact]
    public void TheLibraryReferencesNoTokenizerPackage()
    {
        // GPT-2's vocabulary is embedded; the reference tokenizer is the CLI bench's only.
        var references = typeof(Gpt2Tokenizer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.ML", StringComparison.Ordinal));
        Assert.Equal(50257, Gpt2Tokenizer.LoadBundled().VocabSize);
    }
}
