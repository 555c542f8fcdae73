using System.Reflection;

namespace LlmForge.Tests;

/// <summary><c>llmforge bench</c> on a tiny model: every figure is there and hangs together (speed targets are benchmarks' business).</summary>
public class BenchCliTests
{
    [Fact]
    public void TrainReportsStepTimesAndMfu()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "train", "--config", TestPaths.TinyConfig, "--batch-size", "2", "--context-length", "16", "--steps", "3", "--json"));
        double median = json.GetProperty("ms_per_step_median").GetDouble();
        Assert.InRange(median, json.GetProperty("ms_per_step_min").GetDouble(), json.GetProperty("ms_per_step_max").GetDouble());
        double expected = 2 * 16 / (median / 1000); // JSON figures are unrounded, so these relations hold to float precision
        Assert.InRange(json.GetProperty("tokens_per_second").GetDouble(), expected * 0.999999, expected * 1.000001);
        double mfu = json.GetProperty("mfu").GetDouble();
        Assert.InRange(mfu, 1e-4, 1.5);
        double ratio = json.GetProperty("achieved_gflops").GetDouble() / json.GetProperty("matmul_gflops").GetDouble();
        Assert.InRange(mfu, ratio * 0.999999, ratio * 1.000001);
    }

    [Fact]
    public void GenerateReportsBothRatesAndTheirRatio()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--prompt-tokens", "4", "--new-tokens", "8", "--json"));
        double cached = json.GetProperty("tokens_per_second").GetDouble(), recomputed = json.GetProperty("tokens_per_second_no_cache").GetDouble();
        Assert.True(cached > 0 && recomputed > 0);
        Assert.InRange(json.GetProperty("speedup").GetDouble(), cached / recomputed * 0.999999, cached / recomputed * 1.000001);
    }

    [Fact]
    public void GenerateSplitsATokensTimeAndMeasuresABatch()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--prompt-tokens", "4", "--new-tokens", "8",
            "--cache-only", "--batch", "3", "--json"));
        var split = json.GetProperty("ms_per_token");
        Assert.True(split.GetProperty("forward").GetDouble() > 0 && split.GetProperty("sampling").GetDouble() > 0 && split.GetProperty("other").GetDouble() >= 0);
        var batched = json.GetProperty("batched");
        Assert.Equal(3, batched.GetProperty("batch").GetInt32());
        double all = batched.GetProperty("tokens_per_second").GetDouble(), one = json.GetProperty("tokens_per_second").GetDouble();
        Assert.True(all > 0 && batched.GetProperty("first_token_seconds").GetDouble() > 0);
        Assert.InRange(batched.GetProperty("ratio").GetDouble(), all / one * 0.999999, all / one * 1.000001);
        Assert.True(json.GetProperty("peak_resident_bytes").GetInt64() > 1 << 20);
    }

    [Fact]
    public void GenerateComparesWithLlamaCppOnTheSameModel()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--prompt-tokens", "4", "--new-tokens", "8",
            "--cache-only", "--threads", "1", "--compare-llama-cpp", "--gguf-dtype", "q8_0", "--json"));
        var llamaCpp = json.GetProperty("llama_cpp");
        Assert.Equal("q8_0", llamaCpp.GetProperty("gguf_dtype").GetString());
        double ours = json.GetProperty("tokens_per_second").GetDouble(), theirs = llamaCpp.GetProperty("tokens_per_second").GetDouble();
        Assert.True(ours > 0 && theirs > 0 && llamaCpp.GetProperty("first_token_seconds").GetDouble() > 0);
        Assert.InRange(llamaCpp.GetProperty("ratio").GetDouble(), ours / theirs * 0.999999, ours / theirs * 1.000001);
        CliRunner.AssertBadInput(CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--gguf-dtype", "f16"), "--gguf-dtype goes with --compare-llama-cpp");
        CliRunner.AssertBadInput(CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--compare-llama-cpp", "--gguf-dtype", "q4_k"), "--gguf-dtype q4_k");
    }

    [Fact]
    public void TokenizeComparesWithTheReference()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "tokenize", "--file", TestPaths.Verdict, "--json"));
        double ours = json.GetProperty("tokens_per_second").GetDouble(), reference = json.GetProperty("reference_tokens_per_second").GetDouble();
        Assert.InRange(json.GetProperty("ratio").GetDouble(), ours / reference * 0.999999, ours / reference * 1.000001);
    }

    [Fact]
    public void Bf16TrainingIsMeasuredAndFp16Refused()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "train", "--config", TestPaths.TinyConfig, "--batch-size", "2", "--context-length", "16", "--steps", "2", "--dtype", "bf16", "--json"));
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal("bf16", json.GetProperty("dtype").GetString());
        var fp16 = CliRunner.Run("bench", "train", "--config", TestPaths.TinyConfig, "--dtype", "fp16");
        Assert.Equal(2, fp16.ExitCode);
        Assert.Contains("fp32 or bf16", fp16.Stderr);
    }

    [Fact]
    public void BenchSaysWhichBuildItMeasured()
    {
        // The tests run the CLI built in their own configuration.
        string configuration = typeof(BenchCliTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration.ToLowerInvariant();
        var result = CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--prompt-tokens", "4", "--new-tokens", "2", "--json");
        Assert.Equal(configuration, CliRunner.Json(result).GetProperty("build").GetString());
        Assert.Equal(configuration == "debug", result.Stderr.Contains("llmforge: warning: these figures come from a Debug build"));
        var tokenize = CliRunner.Json(CliRunner.Run("bench", "tokenize", "--file", TestPaths.Verdict, "--json"));
        Assert.Equal(configuration, tokenize.GetProperty("build").GetString());
    }

    [Fact]
    public void BenchShowsProgressOnStderrAndOneObjectOnStdout()
    {
        var generate = CliRunner.Run("bench", "generate", "--config", TestPaths.TinyConfig, "--prompt-tokens", "4", "--new-tokens", "8", "--json");
        CliRunner.Json(generate); // the whole of stdout is one JSON object
        // stderr is a pipe here: the last line of each phase always comes (others every ten seconds).
        Assert.Matches(@"(?m)^bench generate, with KV cache: 8/8 tokens \(\d+\.\d s\)$", generate.Stderr);
        Assert.Matches(@"(?m)^bench generate, without KV cache: 8/8 tokens ", generate.Stderr);
        var train = CliRunner.Run("bench", "train", "--config", TestPaths.TinyConfig, "--batch-size", "2", "--context-length", "16", "--steps", "1", "--json");
        CliRunner.Json(train);
        Assert.Matches(@"(?m)^bench train: 3/3 steps \(2 warm-up\) ", train.Stderr);
    }

    public static TheoryData<string[], string> TooBigForMemory()
    {
        string huge = Path.Combine(Directory.CreateTempSubdirectory("llmforge-bench-config").FullName, "context-1e9.json");
        File.WriteAllText(huge, """{"emb_dim": 768, "n_heads": 12, "n_layers": 12, "context_length": 1000000000}""");
        string wide = Path.Combine(Path.GetDirectoryName(huge)!, "emb-1e6.json");
        File.WriteAllText(wide, """{"emb_dim": 1000000, "n_heads": 16, "n_layers": 12}""");
        return new()
        {
            { ["bench", "generate", "--config", huge], "the model's fp32 weights (12 layers, emb_dim 768, context_length 1000000000, vocab_size 50257: 768,162,223,104 parameters) would take 2.8 TB" },
            { ["bench", "train", "--config", huge], "a training step on batches of 4 × 64 tokens (768,162,223,104 parameters; weights, gradients, AdamW state and activations) would take 11.2 TB" },
            { ["bench", "generate", "--config", wide], "emb_dim 1000000" },
            { ["bench", "train", "--config", TestPaths.TinyConfig, "--batch-size", "100000000", "--context-length", "16"], "a training step on batches of 100,000,000 × 16 tokens" },
            { ["bench", "train", "--preset", "gpt2-small", "--batch-size", "100000"], "a training step on batches of 100,000 × 64 tokens" },
        };
    }

    [Theory, MemberData(nameof(TooBigForMemory))]
    public void WorkBeyondMemoryIsRefusedWithAnEstimate(string[] args, string expected)
    {
        // Used to end in 16-24 lines of libtorch's C++ trace from its allocator.
        var result = CliRunner.Run(args);
        CliRunner.AssertBadInput(result, expected);
        Assert.Contains("of memory available", result.Stderr);
    }

    [Fact]
    public void TheLibraryCarriesNoBenchmarks()
    {
        // The timed runs and their reference tokenizer belong to the CLI's bench, not to the shipped library.
        var library = typeof(LlmForge.Model.GptModel).Assembly;
        Assert.DoesNotContain(library.GetTypes(), t => t.Namespace?.Contains("Benchmarks") == true);
        Assert.DoesNotContain(library.GetReferencedAssemblies(), a => a.Name == "Microsoft.ML.Tokenizers");
        Assert.Contains(typeof(LlmForge.Cli.Commands.BenchCommand).Assembly.GetTypes(), t => t.Namespace == "LlmForge.Cli.Benchmarks");
    }

    [Fact]
    public void BenchServeSendsEveryRequestThroughARealServerAndReportsItsFigures()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "serve", "--model", FixtureModel.Dir, "--requests", "24", "--concurrency", "4", "--max-tokens", "8", "--json"));
        Assert.Equal(24, json.GetProperty("requests").GetInt32());
        Assert.Equal(0, json.GetProperty("failures").GetInt32());
        // Every request asked for 8 greedy tokens; one that meets end-of-text stops sooner.
        Assert.InRange(json.GetProperty("completion_tokens").GetInt64(), 24, 24 * 8);
        Assert.True(json.GetProperty("latency_ms_p50").GetDouble() <= json.GetProperty("latency_ms_p99").GetDouble());
        Assert.True(json.GetProperty("first_token_ms_p50").GetDouble() <= json.GetProperty("latency_ms_p50").GetDouble());
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("direct_tokens_per_second").GetDouble() > 0);
        BadInputAssert.OneLine(CliRunner.Run("bench", "serve", "--model", FixtureModel.Dir, "--concurrency", "0"), "--concurrency");
    }
}
