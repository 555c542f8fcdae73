using System.Text;

namespace LlmForge.Tests;

/// <summary>Hostile safetensors headers, given to <c>llmforge generate</c>: each is refused with one line naming the file and the tensor or field.</summary>
public sealed class SafeTensorsHeaderTests() : ScratchDirectory("llmforge-st-header")
{
    /// <summary>A file of <paramref name="header"/> and 64 zero data bytes, run through the CLI.</summary>
    CliRunner.Result Generate(string header, out string path)
    {
        path = Path.Combine(_dir, "model.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)json.Length), .. json, .. new byte[64]]);
        return CliRunner.Run("generate", "--model", path, "--config", FixtureModel.BookConfig, "--prompt", "hi", "--max-new-tokens", "1");
    }

    [Theory]
    // Two entries for one name: JSON readers disagree on which wins.
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""",
        "header names 'wte.weight' twice")]
    [InlineData("""{"wte.weight":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}""", "tensor 'wte.weight' has 'dtype' twice")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}}""",
        "tensor 'wte.weight': data_offsets must hold whole numbers from 0 to 2^63-1, got 0.5")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775808,9223372036854775816]}}""",
        "tensor 'wte.weight': data_offsets must hold whole numbers from 0 to 2^63-1, got 9223372036854775808")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""",
        "tensor 'wte.weight': data_offsets must hold whole numbers from 0 to 2^63-1, got -8")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}}""", "data_offsets must hold whole numbers")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", "tensor 'wte.weight': data_offsets must be [begin, end], got [0]")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"wpe.weight":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""",
        "tensors 'wte.weight' and 'wpe.weight' overlap (bytes [0, 16) and [8, 24))")]
    [InlineData("""{"wte.weight":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", "tensor 'wte.weight' has dtype 'F8_E4M3', which is not supported")]
    [InlineData("""{"wte.weight":{"dtype":7,"shape":[4],"data_offsets":[0,4]}}""", "tensor 'wte.weight': dtype must be a string")]
    // 2^32 * 2^32 elements wrap to 0 in 64-bit arithmetic, matching the empty byte range.
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}""",
        "tensor 'wte.weight' of shape [4294967296, 4294967296] would take more than 2^63 bytes")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}""", "tensor 'wte.weight': shape must hold whole numbers")]
    [InlineData("""{"wte.weight":{"dtype":"F32","shape":[null],"data_offsets":[0,0]}}""", "tensor 'wte.weight': shape must hold whole numbers")]
    [InlineData("""{"wte\nweight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", @"tensor 'wte\u000aweight' has a control character")]
    public void AHostileHeaderIsRefusedWithOneLine(string header, string expected)
    {
        var result = Generate(header, out string path);
        BadInputAssert.OneLine(result, path, expected);
    }

    [Fact]
    public void AHeaderLengthBeyondTheFileIsRefused()
    {
        string path = Path.Combine(_dir, "huge.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(long.MaxValue), .. "{}"u8]);
        var result = CliRunner.Run("eval", "--model", path, "--config", FixtureModel.BookConfig, "--file", TestPaths.Verdict, "--context-length", "8");
        BadInputAssert.OneLine(result, path, "header length 9223372036854775807 does not fit a file of 10 bytes");
    }

    [Fact]
    public void AHeaderThatIsNotUtf8IsRefused()
    {
        string path = Path.Combine(_dir, "latin1.safetensors");
        byte[] json = Encoding.Latin1.GetBytes("""{"wté.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)json.Length), .. json, .. new byte[8]]);
        var result = CliRunner.Run("generate", "--model", path, "--config", FixtureModel.BookConfig, "--prompt", "hi");
        BadInputAssert.OneLine(result, path, "header is not UTF-8 text");
    }

    [Fact]
    public void AdjacentAndEmptyTensorsAreNotOverlaps()
    {
        // Touching ranges and zero-byte tensors share no bytes: the header is accepted, and the
        // complaint is only that these are not the model's tensors.
        var result = Generate("""{"wte.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"y":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", out string path);
        BadInputAssert.OneLine(result, path, "does not fit the model");
        Assert.DoesNotContain("overlap", result.Stderr);
    }
}
