namespace LlmForge.Tests;

/// <summary><c>llmforge bench</c> on a tiny model: every figure is there and hangs together (speed targets are benchmarks' business).</summary>
public class BenchCliTests
{
    static readonly string TinyConfig = Path.Combine(TestPaths.RepoRoot, "tests", "LlmForge.Tests", "tiny-config.json");

    [Fact]
    public void TrainReportsStepTimesAndMfu()
    {
        var json = CliRunner.Json(CliRunner.Run("bench", "train", "--config", TinyConfig, "--batch-size", "2", "--context-length", "16", "--steps", "3", "--json"));
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
        var json = CliRunner.Json(CliRunner.Run("bench", "generate", "--config", TinyConfig, "--prompt-tokens", "4", "--new-tokens", "8", "--json"));
        double cached = json.GetProperty("tokens_per_second").GetDouble(), recomputed = json.GetProperty("tokens_per_second_no_cache").GetDouble();
        Assert.True(cached > 0 && recomputed > 0);
        Assert.InRange(json.GetProperty("speedup").GetDouble(), cached / recomputed * 0.999999, cached / recomputed * 1.000001);
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
        var json = CliRunner.Json(CliRunner.Run("bench", "train", "--config", TinyConfig, "--batch-size", "2", "--context-length", "16", "--steps", "2", "--dtype", "bf16", "--json"));
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal("bf16", json.GetProperty("dtype").GetString());
        var fp16 = CliRunner.Run("bench", "train", "--config", TinyConfig, "--dtype", "fp16");
        Assert.Equal(2, fp16.ExitCode);
        Assert.Contains("fp32 or bf16", fp16.Stderr);
    }
}
