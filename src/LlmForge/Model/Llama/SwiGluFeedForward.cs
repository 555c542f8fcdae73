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
