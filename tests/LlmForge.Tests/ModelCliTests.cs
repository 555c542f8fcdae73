namespace LlmForge.Tests;

/// <summary><c>llmforge model info</c>, <c>generate</c> and <c>eval</c> on the fixtures, as a user runs them.</summary>
public class ModelCliTests
{
    static JsonElement Json(CliRunner.Result result) => CliRunner.Json(result);

    [Theory]
    [InlineData("gpt2-small", 163_009_536L, 124_412_160L, 621.83)]
    [InlineData("gpt2-xl", 1_637_792_000L, 1_557_380_800L, 6247.68)]
    public void ModelInfoReportsTheBooksCounts(string preset, long total, long withoutHead, double megabytes)
    {
        var json = Json(CliRunner.Run("model", "info", "--preset", preset, "--json"));
        Assert.Equal(total, json.GetProperty("total_parameters").GetInt64());
        Assert.Equal(withoutHead, json.GetProperty("parameters_without_output_head").GetInt64());
        Assert.Equal(megabytes, json.GetProperty("fp32_megabytes").GetDouble());
    }

    [Fact]
    public void ModelInfoOfAFixtureModel()
    {
        var json = Json(CliRunner.Run("model", "info", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--json"));
        Assert.Equal(FixtureModel.Expected.GetProperty("parameter_count").GetInt64(), json.GetProperty("total_parameters").GetInt64());
    }

    [Fact]
    public void GenerateGivesTheReferenceGreedyIds()
    {
        int[] expected = FixtureModel.Ints("greedy_20");
        foreach (var extra in new[] { Array.Empty<string>(), ["--no-kv-cache"] })
        {
            var json = Json(CliRunner.Run(["generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "20", "--json", .. extra]));
            Assert.Equal(expected, json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.StartsWith("Every effort moves you", json.GetProperty("text").GetString());
            Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        }
    }

    [Fact]
    public void GenerateStreamsTheSameText()
    {
        var json = Json(CliRunner.Run("generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "20", "--json"));
        var streamed = CliRunner.Run("generate", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--prompt", "Every effort moves you", "--max-new-tokens", "20", "--stream");
        Assert.Equal(0, streamed.ExitCode);
        Assert.Equal(json.GetProperty("text").GetString() + "\n", streamed.Stdout);
    }

    [Fact]
    public void SampledGenerationIsRepeatableWithTheSeed()
    {
        string[] args = ["generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "10", "--temperature", "1.4", "--top-k", "40", "--top-p", "0.95", "--seed", "7", "--json"];
        var first = Json(CliRunner.Run(args)).GetProperty("ids").ToString();
        Assert.Equal(first, Json(CliRunner.Run(args)).GetProperty("ids").ToString());
    }

    [Fact]
    public void EvalGivesTheReferenceVerdictLoss()
    {
        foreach (var model in new[] { new[] { "--model", FixtureModel.Dir }, ["--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig] })
        {
            var json = Json(CliRunner.Run(["eval", .. model, "--file", TestPaths.Verdict, "--context-length", "64", "--json"]));
            double expected = FixtureModel.Expected.GetProperty("verdict_loss_ctx64").GetDouble();
            Assert.True(Math.Abs(json.GetProperty("loss").GetDouble() - expected) < 1e-4, json.ToString());
            Assert.Equal(80 * 64, json.GetProperty("tokens").GetInt32());
            Assert.Equal(Math.Exp(expected), json.GetProperty("perplexity").GetDouble(), 0);
        }
    }

    [Fact]
    public void ExportWritesAModelThatLoadsBackIdentically()
    {
        string dir = Path.Combine(Path.GetTempPath(), "llmforge-cli-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            var exported = Json(CliRunner.Run("export", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig, "--format", "hf", "--out", dir, "--dtype", "fp16", "--json"));
            Assert.Equal("fp16", exported.GetProperty("dtype").GetString());
            var json = Json(CliRunner.Run("generate", "--model", dir, "--prompt", "Every effort moves you", "--max-new-tokens", "5", "--json"));
            Assert.Equal(FixtureModel.Ints("greedy_20")[..9], json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            var again = CliRunner.Run("export", "--model", FixtureModel.Dir, "--out", dir);
            Assert.Equal(2, again.ExitCode);
            Assert.Contains("--overwrite", again.Stderr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string[], string> BadInputs()
    {
        string notModel = Path.Combine(Path.GetTempPath(), "llmforge-not-a-model.txt");
        File.WriteAllText(notModel, "hello");
        string emptyDir = Directory.CreateTempSubdirectory("llmforge-empty-model").FullName;
        string[] generate = ["generate", "--model", FixtureModel.Dir, "--prompt"];
        return new()
        {
            { [.. generate, ""], "--prompt is empty" },
            { [.. generate, "<|im_start|>user"], "special token <|im_start|>" },
            { [.. generate, "hi", "--temperature", "-0.5"], "temperature must be 0" },
            { [.. generate, "hi", "--top-k", "0"], "top-k must be at least 1" },
            { [.. generate, "hi", "--top-p", "1.5"], "top-p must be in (0, 1]" },
            { [.. generate, "hi", "--top-p", "0"], "top-p must be in (0, 1]" },
            { ["generate", "--model", "/no/such/model", "--prompt", "hi"], "no such model" },
            { ["generate", "--model", notModel, "--prompt", "hi"], "not a model file" },
            { ["generate", "--model", emptyDir, "--prompt", "hi"], "not a model directory" },
            { ["eval", "--model", FixtureModel.Dir, "--file", TestPaths.Verdict, "--context-length", "65"], "longer than the model's context of 64" },
            { ["model", "info", "--preset", "gpt5"], "unknown preset 'gpt5'" },
            { ["model", "info"], "exactly one of" },
            { ["export", "--model", FixtureModel.Dir, "--out", "/tmp/llmforge-never", "--format", "ggml"], "--format ggml: expected hf or gguf" },
            { ["export", "--model", FixtureModel.Dir, "--out", "/tmp/llmforge-never", "--dtype", "fp8"], "expected fp32, fp16 or bf16" },
            { ["generate", "--model", "gpt2-355M", "--prompt", "hi"], "gpt2-355M is not downloaded" },
            { ["download", "gpt2", "--size", "7B"], "--size 7B" },
            { [.. generate, "hi", "--temperature", "NaN"], "--temperature: 'NaN' is not a finite number" },
            { [.. generate, "hi", "--max-new-tokens", "-1"], "max-new-tokens must be at least 0, got -1" },
            { [.. generate, "hi", "--threads", "0"], "--threads 0: expected 1 to" },
            { [.. generate, "hi", "--threads", "100000"], "--threads 100000: expected 1 to" },
            { ["eval", "--model", FixtureModel.Dir, "--file", TestPaths.Verdict, "--context-length", "64", "--threads", "-4"], "--threads -4: expected 1 to" },
            // Config files: one line naming the file and the key, no .NET type names.
            { ["model", "info", "--config", TempConfig("dup", """{"emb_dim": 32, "n_heads": 4, "emb_dim": 64}""")], "dup.json: the key 'emb_dim' is given more than once" },
            { ["model", "info", "--config", TempConfig("qkv-yes", """{"emb_dim": 32, "n_heads": 4, "qkv_bias": "yes"}""")], "qkv-yes.json: 'qkv_bias' must be true or false, got \"yes\"" },
            { ["model", "info", "--config", TempConfig("drop-text", """{"emb_dim": 32, "n_heads": 4, "drop_rate": "0.1"}""")], "drop-text.json: 'drop_rate' must be a number" },
            { ["model", "info", "--config", TempConfig("layers-frac", """{"emb_dim": 32, "n_heads": 4, "n_layers": 2.5}""")], "layers-frac.json: 'n_layers' must be an integer, got 2.5" },
            { ["model", "info", "--config", TempConfig("vocab-big", """{"emb_dim": 32, "n_heads": 4, "vocab_size": 1e20}""")], "vocab-big.json: 'vocab_size' must be an integer up to 2147483647" },
            { ["model", "info", "--config", TempConfig("heads-null", """{"emb_dim": 32, "n_heads": null}""")], "heads-null.json: 'n_heads' must be an integer, got null" },
            { ["model", "info", "--config", TempConfig("tokenizer-number", """{"emb_dim": 32, "n_heads": 4, "tokenizer": 5}""")], "tokenizer-number.json: 'tokenizer' must be a string" },
            { ["model", "info", "--config", TempConfig("both-widths", """{"emb_dim": 32, "n_embd": 64, "n_heads": 4}""")], "'emb_dim' (32) and 'n_embd' (64) disagree" },
            { ["model", "info", "--config", TempConfig("not-object", "[1, 2]")], "not-object.json: expected a JSON object" },
            // Sizes whose parameter count does not fit 64 bits: refused, not reported wrapped around.
            { ["model", "info", "--config", TempConfig("int-max", """{"vocab_size": 2147483647, "context_length": 2147483647, "emb_dim": 65536, "n_heads": 1, "n_layers": 2147483647}""")], "int-max.json: these sizes give 1.11e+20 parameters, more than a 64-bit count holds" },
            // Models far beyond any machine's memory: refused with the estimate before libtorch's allocator fails.
            { ["generate", "--model", FixtureModel.BookPth, "--config", TempConfig("context-1e9", """{"emb_dim": 768, "n_heads": 12, "context_length": 1000000000}"""), "--prompt", "hi"], "the model's fp32 weights (12 layers, emb_dim 768, context_length 1000000000, vocab_size 50257: 768,162,223,104 parameters) would take 2.8 TB, and this machine has" },
        };
    }

    /// <summary>A config file with this text, in a fresh temporary directory (its name shows in messages).</summary>
    static string TempConfig(string name, string json)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("llmforge-config").FullName, name + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Theory, MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndOneLine(string[] args, string expected)
    {
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("System.", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void ModelInfoCountsLargeSizesIn64Bits()
    {
        // 2^31 positions of width 768 give 1.6e12 parameters: far past 32 bits, well within 64.
        var json = Json(CliRunner.Run("model", "info", "--config", TempConfig("wide-context", """{"emb_dim": 768, "n_heads": 12, "context_length": 2147483647}"""), "--json"));
        Assert.Equal(1_649_429_664_000L, json.GetProperty("total_parameters").GetInt64());
    }

    /// <summary>The fixture model saved as a checkpoint with one NaN in its final norm's scale: every logit becomes NaN.</summary>
    internal static string NanCheckpoint()
    {
        using var loaded = LlmForge.Interop.ModelLoader.Load(FixtureModel.Dir);
        using (TorchSharp.torch.no_grad())
            loaded.Model.final_norm.scale[5].fill_(float.NaN);
        string dir = Path.Combine(Directory.CreateTempSubdirectory("llmforge-nan").FullName, "model");
        return LlmForge.Interop.Checkpoint.Save(dir, loaded.Model);
    }

    [Fact]
    public void GenerateFromNanWeightsFailsWithOneLine()
    {
        string model = NanCheckpoint();
        // Greedy used to print "!!!!!" (argmax of NaNs is id 0) with exit 0; sampling, a native trace.
        foreach (var extra in new[] { Array.Empty<string>(), ["--temperature", "1"], ["--temperature", "1", "--top-k", "5", "--top-p", "0.9"], ["--stream"], ["--json"], ["--no-kv-cache"] })
        {
            var result = CliRunner.Run(["generate", "--model", model, "--prompt", "Every effort moves you", "--max-new-tokens", "5", .. extra]);
            Assert.True(result.ExitCode == 1, $"{string.Join(' ', extra)}: exit {result.ExitCode}: {result.Stdout} {result.Stderr}");
            Assert.Equal("llmforge: the model's logits are not finite numbers (NaN or infinity): its weights are probably damaged or diverged\n", result.Stderr);
            Assert.Equal("", result.Stdout);
        }
    }

    [Fact]
    public void ExtremeSamplingSettingsStayFiniteAndTendToGreedy()
    {
        string[] baseArgs = ["generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "10", "--json"];
        int[] greedy = FixtureModel.Ints("greedy_20")[..14];
        // A temperature of 1e-45 is 0 in fp32 and made inf / NaN logits; a top-p of 1e-300 dropped every token.
        foreach (var extra in new[] { new[] { "--temperature", "1e-45" }, ["--temperature", "1e-300"], ["--temperature", "1", "--top-p", "1e-300"], ["--temperature", "1e-45", "--top-k", "3", "--top-p", "1e-300"] })
        {
            var json = Json(CliRunner.Run([.. baseArgs, .. extra]));
            Assert.Equal(greedy, json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        }
        // A huge temperature samples almost uniformly: still ten tokens, no failure.
        Assert.Equal(14, Json(CliRunner.Run([.. baseArgs, "--temperature", "1e300"])).GetProperty("ids").GetArrayLength());
    }

    [Fact]
    public void ThreadsWithinTheCoresAreUsed()
    {
        var json = Json(CliRunner.Run("generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "3", "--threads", Environment.ProcessorCount.ToString(), "--json"));
        Assert.Equal(FixtureModel.Ints("greedy_20")[..7], json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void EvalShowsProgressOnStderrAndOneObjectOnStdout()
    {
        var result = CliRunner.Run("eval", "--model", FixtureModel.Dir, "--file", TestPaths.Verdict, "--context-length", "64", "--json");
        Json(result);
        // stderr is a pipe here: the last line of each phase always comes (others every ten seconds).
        Assert.Matches(@"(?m)^eval: 80/80 windows \(\d+\.\d s\)$", result.Stderr);
    }
}
