using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlmForge.Model;

/// <summary>GELU with GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
public sealed class Gelu() : nn.Module<Tensor, Tensor>(nameof(Gelu))
{
    public override Tensor forward(Tensor x) => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh);

    const float Coefficient = 0.044715f;
    static readonly float Root = MathF.Sqrt(2 / MathF.PI);

    /// <summary>
    /// <see cref="forward"/> on fp32 values in place (a decoding step's hidden rows, <see cref="GptDecodeStep"/>), eight at a
    /// time with tanh(u) = 1 - 2/(exp(2u) + 1): exact at both ends (exp's overflow gives 1, its underflow -1) and within
    /// float rounding of libtorch's tanh in between.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static void Apply(Span<float> values)
    {
        int i = 0;
        var half = Vector256.Create(0.5f);
        var one = Vector256.Create(1f);
        var two = Vector256.Create(2f);
        for (; i + 8 <= values.Length; i += 8)
        {
            var x = Vector256.Create(values.Slice(i, 8));
            var u = Vector256.Create(Root) * (x + Vector256.Create(Coefficient) * x * x * x);
            var tanh = one - two / (Vector256.Exp(two * u) + one);
            (half * x * (one + tanh)).CopyTo(values.Slice(i));
        }
        for (; i < values.Length; i++)
        {
            float x = values[i], u = Root * (x + Coefficient * x * x * x);
            values[i] = 0.5f * x * (1 + (1 - 2 / (MathF.Exp(2 * u) + 1)));
        }
    }
}
