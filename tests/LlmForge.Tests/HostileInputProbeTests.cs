using System.Runtime.InteropServices;

namespace LlmForge.Tests;

/// <summary>
/// A battery of wrong command lines, each run through the real CLI: every one must end with exit code 2 and exactly
/// one line on stderr that names what is wrong in plain words, with nothing on stdout and nothing written.
/// </summary>
public sealed class HostileInputProbeTests(HostileInputProbeTests.Scratch scratch) : IClassFixture<HostileInputProbeTests.Scratch>
{
    /// <summary>
    /// A directory of its own for the probes: {text} a small text file, {dir} a directory with nothing in it,
    /// {new} a path that must still not exist after the run.
    /// </summary>
    public sealed class Scratch : IDisposable
    {
        public readonly string Root = Path.Combine(Path.GetTempPath(), "llmforge-hostile-" + Guid.NewGuid().ToString("N"));

        public Scratch()
        {
            Directory.CreateDirectory(Path.Combine(Root, "empty-dir"));
            File.WriteAllText(Path.Combine(Root, "small.txt"), "hello world, hello again\n");
        }

        public string Expand(string arg) => arg
            .Replace("{text}", Path.Combine(Root, "small.txt"))
            .Replace("{dir}", Path.Combine(Root, "empty-dir"))
            .Replace("{new}", Path.Combine(Root, "new"));

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }

    static readonly string Tiny = TestPaths.Fixture("tiny-gpt2");
    static readonly string TinyPth = Path.Combine(TestPaths.Fixture("tiny-gpt2"), "model_book.pth");
    /// <summary>The arguments, and a piece of the one line that must name the culprit.</summary>
    public static TheoryData<string[], string> Inputs() => new()
    {
        // Values of the wrong kind: said in words, never as a .NET type.
        { ["generate", "--model", Tiny, "--prompt", "hi", "--max-new-tokens", "abc"], "--max-new-tokens: 'abc' is not a whole number" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--threads", "two"], "--threads: 'two' is not a whole number" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--top-k", "1.5"], "--top-k: '1.5' is not a whole number" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--temperature", "hot"], "--temperature: 'hot' is not a number" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--temperature", "0,5"], "--temperature: '0,5' is not a number" }, // not 5
        { ["generate", "--model", Tiny, "--prompt", "hi", "--top-p", "NaN"], "--top-p: 'NaN' is not a finite number" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--max-new-tokens", "99999999999"], "--max-new-tokens: '99999999999' is out of range" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--stream", "maybe"], "--stream: 'maybe' is not true or false" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--stream=maybe"], "--stream: 'maybe' is not true or false" },
        { ["dataset", "--file", "{text}", "--context-length", "4", "--seed", "-1"], "--seed: '-1' is out of range" },
        { ["pretrain", "--data", "{text}", "--out", "{new}", "--lr", "fast"], "--lr: 'fast' is not a number" },
        { ["tokenizer", "train", "--data", "{text}", "--vocab-size", "many", "--out", "{new}"], "--vocab-size: 'many' is not a whole number" },
        { ["bench", "train", "--steps", "x"], "--steps: 'x' is not a whole number" },
        // Several problems at once: the one line is about the value given, not the options left out.
        { ["generate", "--threads", "abc"], "--threads: 'abc' is not a whole number" },

        // Options and commands that do not exist, are left out, or are given twice.
        { ["generate", "--model", Tiny, "--prompt", "hi", "--bogus"], "unknown option '--bogus'" },
        { ["env", "--bogus"], "unknown option '--bogus'" },
        { ["env", "extra"], "unexpected argument 'extra'" },
        { ["generate", "--model", Tiny, "--prompt", "Hello", "world"], "unexpected argument 'world'" },
        { ["no-such-command"], "unknown command 'no-such-command'" },
        { ["tokenizer", "nope"], "unknown command 'nope'" },
        { [], "no command given" },
        { ["tokenizer"], "'llmforge tokenizer' needs a command" },
        { ["generate", "--prompt", "hi"], "--model is required" },
        { ["generate", "--model", Tiny], "--prompt is required" },
        { ["generate", "--model", Tiny, "--prompt"], "--prompt needs a value" },
        { ["generate", "--model", Tiny, "--prompt", "hi", "--seed", "1", "--seed", "2"], "--seed is given 2 times" },
        { ["export", "--model", Tiny], "--out is required" },
        { ["download", "gpt2"], "--size is required" },

        // Files that are missing or are directories.
        { ["generate", "--model", "{new}", "--prompt", "hi"], "new: no such model" },
        { ["generate", "--model", "{dir}", "--prompt", "hi"], "empty-dir: not a model directory" },
        { ["generate", "--model", "{text}", "--prompt", "hi"], "small.txt: not a model file" },
        { ["generate", "--model", TinyPth, "--config", "{new}", "--prompt", "hi"], "new: no such config file" },
        { ["eval", "--model", Tiny, "--file", "{new}", "--context-length", "4"], "new: no such file" },
        { ["eval", "--model", Tiny, "--file", "{dir}", "--context-length", "4"], "empty-dir: is a directory" },
        { ["tokenize", "--file", "{dir}"], "empty-dir: is a directory" },
        { ["tokenize", "--text", "hi", "--tokenizer", "{dir}"], "empty-dir" },
        { ["dataset", "--file", "{new}", "--context-length", "4"], "new: no such file" },
        { ["tokenizer", "train", "--data", "{new}", "--vocab-size", "300", "--out", "{dir}"], "new: no such file" },
        { ["tokenizer", "train", "--data", "{dir}", "--vocab-size", "300", "--out", "{new}"], "empty-dir: is a directory" },
        { ["model", "info", "--config", "{new}"], "new: no such config file" },
        { ["model", "info", "--model", "{new}"], "new: no such model" },
        { ["pretrain", "--data", "{new}", "--out", "{dir}"], "new: no such file" },
        { ["pretrain", "--data", "{text}", "--out", "{text}", "--config", TestPaths.TinyConfig], "--out needs a directory" },
        { ["pretrain", "--resume", "{new}"], "new: no such run directory" },
        { ["export", "--model", "{new}", "--out", "{dir}"], "new: no such model" },
        { ["export", "--model", Tiny, "--out", "{text}"], "--out needs a directory" },
        { ["bench", "train", "--config", "{new}"], "new: no such config file" },
        { ["bench", "tokenize", "--file", "{dir}"], "empty-dir: is a directory" },

        // Names outside a fixed set.
        { ["generate", "--model", Tiny, "--prompt", "hi", "--dtype", "fp8"], "--dtype fp8" },
        { ["eval", "--model", Tiny, "--file", "{text}", "--context-length", "4", "--dtype", "fp8"], "--dtype fp8" },
        { ["pretrain", "--data", "{text}", "--out", "{new}", "--dtype", "fp8"], "--dtype fp8" },
        { ["export", "--model", Tiny, "--out", "{new}", "--format", "gguf2"], "--format gguf2" },
        { ["model", "info", "--preset", "gpt9"], "unknown preset 'gpt9'" },
        { ["download", "gpt2", "--size", "7B"], "--size 7B" },
    };

    [Theory, MemberData(nameof(Inputs))]
    public void BadInputGetsOneLineAndExitCode2(string[] args, string expected)
    {
        var result = CliRunner.Run(args.Select(scratch.Expand).ToArray());

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.Stderr}");
        Assert.Equal("", result.Stdout);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "more than one line on stderr:\n" + result.Stderr);
        string line = lines[0].TrimEnd('\r');
        Assert.StartsWith("llmforge: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("System.", line);
        Assert.DoesNotContain("Exception", line);
        Assert.DoesNotContain("   at ", line);
        Assert.False(Path.Exists(Path.Combine(scratch.Root, "new")), "the run created what it was told to write, though it refused");
    }

    [Fact]
    public void LibtorchFailureIsItsSummaryLineWithoutTypeNameOrStack()
    {
        // A real libtorch error, as TorchSharp raises it: the C++ summary, then the C++ stack, one frame a line.
        // (mm, not matmul: TorchSharp's matmul lacks the catch that turns the error into an exception.)
        Exception error;
        using (var a = TorchSharp.torch.zeros(2, 3))
        using (var b = TorchSharp.torch.zeros(2, 3))
            error = Assert.ThrowsAny<ExternalException>(() => a.mm(b));
        Assert.Contains("\n", error.Message);

        string line = LlmForge.Cli.Cli.Unexpected(error);

        Assert.Equal("unexpected failure: mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3) (LLMFORGE_DEBUG=1 shows the details)", line);
    }

    [Fact]
    public void AFailureWithNoMessageStillSaysWhatToDo() =>
        Assert.Equal("unexpected failure (LLMFORGE_DEBUG=1 shows the details)", LlmForge.Cli.Cli.Unexpected(new InvalidOperationException("")));
}
