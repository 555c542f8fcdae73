using System.Buffers.Binary;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// ggml's Q8_0 blocks: each run of 32 values is stored as one fp16 scale <c>d = max|x| / 127</c> followed by the
/// 32 values as int8 <c>round(x / d)</c> (halves away from zero, as C's <c>roundf</c>), 34 bytes in all. A value
/// is read back as <c>d · q</c>, so the error of each is at most half a step of its block.
/// </summary>
public static class Q8Zero
{
    const int Block = GgmlTypes.Q8BlockSize, BlockBytes = 2 + Block;

    /// <summary>Quantises <paramref name="values"/> (a whole number of blocks) into <paramref name="destination"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> values, Span<byte> destination)
    {
        if (values.Length % Block != 0) throw new ArgumentException($"{values.Length} values are not whole Q8_0 blocks of {Block}");
        for (int b = 0; b < values.Length / Block; b++)
        {
            var x = values.Slice(b * Block, Block);
            var output = destination.Slice(b * BlockBytes, BlockBytes);
            float max = 0;
            foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
            float d = max / 127f, inverse = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(output, (Half)d);
            for (int j = 0; j < Block; j++)
                output[2 + j] = unchecked((byte)(sbyte)MathF.Round(x[j] * inverse, MidpointRounding.AwayFromZero));
        }
    }

    /// <summary>The values <paramref name="blocks"/> stand for (<c>d · q</c>), to check a quantised tensor.</summary>
    public static float[] Dequantize(ReadOnlySpan<byte> blocks)
    {
        var values = new float[blocks.Length / BlockBytes * Block];
        for (int b = 0; b < values.Length / Block; b++)
        {
            var block = blocks.Slice(b * BlockBytes, BlockBytes);
            float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
            for (int j = 0; j < Block; j++) values[b * Block + j] = d * (sbyte)block[2 + j];
        }
        return values;
    }
}
