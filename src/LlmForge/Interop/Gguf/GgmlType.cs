namespace LlmForge.Interop.Gguf;

/// <summary>
/// The tensor types of ggml that an export writes, with their numbers in the GGUF format (<c>ggml_type</c>), and
/// the file type each whole-model choice records (<c>general.file_type</c>, llama.cpp's <c>llama_ftype</c>).
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
    BF16 = 30,
}

public static class GgmlTypes
{
    /// <summary>The names <c>--dtype</c> takes, as llama.cpp spells them.</summary>
    public static readonly IReadOnlyList<string> Names = ["f32", "f16", "bf16", "q8_0"];

    /// <summary>Values in one Q8_0 block: 32 int8 values share one fp16 scale (34 bytes).</summary>
    public const int Q8BlockSize = 32;

    public static GgmlType Parse(string? name, string option = "--dtype") => name?.ToLowerInvariant() switch
    {
        "f32" or "fp32" => GgmlType.F32,
        "f16" or "fp16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "q8_0" => GgmlType.Q8_0,
        _ => throw new BadInputException($"{option} {name}: GGUF export writes {string.Join(", ", Names)}"),
    };

    public static string Name(GgmlType type) => type switch
    {
        GgmlType.F32 => "f32",
        GgmlType.F16 => "f16",
        GgmlType.BF16 => "bf16",
        _ => "q8_0",
    };

    /// <summary>Bytes a tensor of <paramref name="count"/> values takes (a Q8_0 count is a whole number of blocks).</summary>
    public static long ByteCount(GgmlType type, long count) => type switch
    {
        GgmlType.F32 => count * 4,
        GgmlType.F16 or GgmlType.BF16 => count * 2,
        _ => count / Q8BlockSize * (2 + Q8BlockSize),
    };

    /// <summary><c>general.file_type</c>: llama.cpp's <c>LLAMA_FTYPE_ALL_F32</c>, <c>MOSTLY_F16</c>, <c>MOSTLY_Q8_0</c>, <c>MOSTLY_BF16</c>.</summary>
    public static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q8_0 => 7,
        _ => 32,
    };
}
