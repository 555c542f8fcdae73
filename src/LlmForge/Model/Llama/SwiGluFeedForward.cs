using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// The feed-forward network of Llama and Qwen3 (Shazeer, 2020): two projections to the hidden width, one
/// passed through SiLU and used as a gate on the other, then a projection back: <c>fc3(silu(fc1(x)) * fc2(x))</c>.
/// The book's names <c>fc1</c>, <c>fc2</c>, <c>fc3</c> are Hugging Face's <c>gate_proj</c>, <c>up_proj</c>,
/// <c>down_proj</c>. No biases. The three layers sit in slots a LoRA wrapper can take.
/// </summary>
public sealed class SwiGluFeedForward : nn.Module<Tensor, Tensor>, ILinearSlots
{
#pragma warning disable IDE1006 // the book's names
    nn.Module<Tensor, Tensor> fc1, fc2, fc3;
#pragma warning restore IDE1006

    public SwiGluFeedForward(int embDim, int hiddenDim, LayerFactory layers) : base(nameof(SwiGluFeedForward))
    {
        fc1 = layers.Linear(embDim, hiddenDim);
        fc2 = layers.Linear(embDim, hiddenDim);
        fc3 = layers.Linear(hiddenDim, embDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = nn.functional.silu(DecodeLinear.Forward(fc1, x)) * DecodeLinear.Forward(fc2, x);
        return DecodeLinear.Forward(fc3, gated).MoveToOuterDisposeScope();
    }

    /// <summary>The gate, up and down projections, for a decoding step on raw memory (<see cref="LlamaDecodeStep"/>).</summary>
    internal (nn.Module<Tensor, Tensor> Gate, nn.Module<Tensor, Tensor> Up, nn.Module<Tensor, Tensor> Down) Parts => (fc1, fc2, fc3);

    /// <summary>
    /// <c>silu(gate) * up</c> on fp32 rows in place in <paramref name="gate"/> (a decoding step's, <see cref="LlamaDecodeStep"/>),
    /// eight at a time with silu(x) = x / (1 + exp(-x)) as libtorch computes it; in bf16 the SiLU and the product each
    /// rounded to bf16, as the two tensors of the forward above hold them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static void Gate(Span<float> gate, ReadOnlySpan<float> up, bool bf16)
    {
        int i = 0;
        for (; i + 8 <= gate.Length; i += 8)
        {
            var x = Vector256.Create(gate.Slice(i, 8));
            var silu = x / (Vector256.Create(1f) + Vector256.Exp(-x));
            var product = (bf16 ? Bf16.Round(silu) : silu) * Vector256.Create(up.Slice(i, 8));
            (bf16 ? Bf16.Round(product) : product).CopyTo(gate.Slice(i));
        }
        for (; i < gate.Length; i++)
        {
            float x = gate[i], silu = x / (1 + MathF.Exp(-x));
            gate[i] = bf16 ? Bf16.ToFloat(Bf16.FromFloat(Bf16.ToFloat(Bf16.FromFloat(silu)) * up[i])) : silu * up[i];
        }
    }

    public IReadOnlyList<string> LinearSlots { get; } = [nameof(fc1), nameof(fc2), nameof(fc3)];

    public nn.Module<Tensor, Tensor> GetSlot(string name) => name switch
    {
        nameof(fc1) => fc1,
        nameof(fc2) => fc2,
        nameof(fc3) => fc3,
        _ => throw new ArgumentException($"no linear slot '{name}' in the feed-forward network"),
    };

    public void SetSlot(string name, nn.Module<Tensor, Tensor> module)
    {
        _ = GetSlot(name);
        switch (name)
        {
            case nameof(fc1): fc1 = module; break;
            case nameof(fc2): fc2 = module; break;
            default: fc3 = module; break;
        }
        LinearWrapping.Reregister(this, name, module);
    }
}
