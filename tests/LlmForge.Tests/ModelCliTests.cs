using System.Text.Json;

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
            { ["export", "--model", FixtureModel.Dir, "--out", "/tmp/llmforge-never", "--format", "gguf"], "only hf" },
            { ["export", "--model", FixtureModel.Dir, "--out", "/tmp/llmforge-never", "--dtype", "fp8"], "expected fp32, fp16 or bf16" },
            { ["generate", "--model", "gpt2-355M", "--prompt", "hi"], "gpt2-355M is not downloaded" },
            { ["download", "gpt2", "--size", "7B"], "--size 7B" },
        };
    }

    [Theory, MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndOneLine(string[] args, string expected)
    {
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", result.Stdout);
    }
}
