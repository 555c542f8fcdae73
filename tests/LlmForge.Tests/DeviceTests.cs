namespace LlmForge.Tests;

/// <summary>
/// <c>--device cpu|cuda|auto</c> on the build these machines have (TorchSharp-cpu, no GPU): cuda is one
/// clear line and exit 2 before anything is loaded or written; auto and cpu run on the CPU.
/// </summary>
public sealed class DeviceTests
{
    public static TheoryData<string[]> CudaCommands() => new()
    {
        { ["generate", "--model", FixtureModel.Dir, "--prompt", "Hello", "--device", "cuda"] },
        { ["eval", "--model", FixtureModel.Dir, "--file", TestPaths.Verdict, "--context-length", "16", "--device", "cuda"] },
        { ["pretrain", "--data", TestPaths.Verdict, "--config", TestPaths.TinyConfig, "--context-length", "16", "--max-steps", "1", "--device", "cuda",
            "--out", Path.Combine(Path.GetTempPath(), "llmforge-cuda-" + Guid.NewGuid().ToString("N"))] },
    };

    [Theory, MemberData(nameof(CudaCommands))]
    public void CudaOnACpuOnlyBuildIsOneLineAndExitCode2(string[] args)
    {
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("llmforge: --device cuda: this build of LlmForge has no CUDA", line);
        if (args[0] == "pretrain") Assert.False(Directory.Exists(args[^1]));
    }

    [Fact]
    public void AnUnknownDeviceIsBadInput()
    {
        var result = CliRunner.Run("generate", "--model", FixtureModel.Dir, "--prompt", "Hello", "--device", "tpu");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--device tpu: expected cpu, cuda or auto", result.Stderr);
    }

    [Fact]
    public void AutoRunsOnTheCpuHereWithTheSameIds()
    {
        string[] args = ["generate", "--model", FixtureModel.Dir, "--prompt", "Every effort moves you", "--max-new-tokens", "5", "--json"];
        var cpu = CliRunner.Json(CliRunner.Run(args));
        var auto = CliRunner.Json(CliRunner.Run([.. args, "--device", "auto"]));
        Assert.Equal(cpu.GetProperty("ids").ToString(), auto.GetProperty("ids").ToString());
    }
}
