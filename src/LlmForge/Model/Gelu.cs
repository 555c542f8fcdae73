namespace LlmForge.Model;

/// <summary>GELU with GPT-2's tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
public sealed class Gelu() : nn.Module<Tensor, Tensor>(nameof(Gelu))
{
    public override Tensor forward(Tensor x) => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh);
}
