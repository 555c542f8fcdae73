using System.Diagnostics;

namespace LlmForge.Tests;

/// <summary>
/// Text options (--file, --data) given something that is not a text file of a usable size: a device
/// that never ends, a FIFO that waits for a writer, a file larger than a string can hold. Each is
/// refused from its path and size alone, before anything is read.
/// </summary>
public sealed class TextInputTests() : ScratchDirectory("llmforge-text-input")
{
    public static TheoryData<string[]> DevZeroCommands => new()
    {
        new[] { "tokenize", "--file", "/dev/zero" },
        new[] { "dataset", "--file", "/dev/zero", "--context-length", "4" },
        new[] { "eval", "--model", FixtureModel.Dir, "--file", "/dev/zero", "--context-length", "8" },
    };

    [Theory]
    [MemberData(nameof(DevZeroCommands))]
    public void DevZeroIsRefusedAsADevice(string[] args) =>
        BadInputAssert.OneLine(CliRunner.Run(args), "/dev/zero: is a character device, expected a text file");

    [Fact]
    public void PretrainRefusesDevZeroAndCreatesNoRun()
    {
        string run = Path.Combine(_dir, "run");
        var result = CliRunner.Run("pretrain", "--data", "/dev/zero", "--config", TestPaths.TinyConfig, "--max-steps", "1", "--out", run);
        BadInputAssert.OneLine(result, "/dev/zero: is a character device");
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void AFifoIsRefusedWithoutWaitingForAWriter()
    {
        string fifo = Path.Combine(_dir, "pipe");
        using (var mkfifo = Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        BadInputAssert.OneLine(CliRunner.Run("tokenize", "--file", fifo), fifo, "is a FIFO (named pipe), expected a text file");
    }

    [Fact]
    public void AFileLargerThanAStringCanHoldIsRefusedUnread()
    {
        // Sparse: three billion bytes that take no disk space.
        string big = Path.Combine(_dir, "big.txt");
        using (var stream = File.Create(big)) stream.SetLength(3_000_000_000);
        BadInputAssert.OneLine(CliRunner.Run("tokenize", "--file", big), big, "3,000,000,000 bytes, more than the 1,000,000,000 a text file may have");
    }

    [Fact]
    public void AModelPathThatIsADeviceIsRefused() =>
        BadInputAssert.OneLine(CliRunner.Run("generate", "--model", "/dev/zero", "--prompt", "hi"), "/dev/zero: is a character device, expected a model file");
}
