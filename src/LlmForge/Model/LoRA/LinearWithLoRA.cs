using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// Appendix E's <c>LinearWithLoRA</c>: a linear layer plus its adapter. The layer stays a submodule
/// named <c>linear</c> and the adapter is <c>lora</c>, so the parameters are <c>X.linear.weight</c>,
/// <c>X.linear.bias</c>, <c>X.lora.A</c> and <c>X.lora.B</c>: a checkpoint keeps the base weights and
/// the adapters apart.
/// </summary>
public sealed class LinearWithLoRA : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // the book's names
    public readonly Linear linear;
    public readonly LoRALayer lora;
#pragma warning restore IDE1006

    public LinearWithLoRA(Linear linear, int rank, double alpha) : base(nameof(LinearWithLoRA))
    {
        var weight = linear.weight!;
        this.linear = linear;
        lora = new LoRALayer((int)weight.shape[1], (int)weight.shape[0], rank, alpha, weight.device, weight.dtype);
        RegisterComponents();
    }

    /// <summary>False while the model stands for its base (DPO's reference): the adapter is left out.</summary>
    public bool Enabled { get; set; } = true;

    public override Tensor forward(Tensor x)
    {
        if (!Enabled) return linear.forward(x);
        using var scope = NewDisposeScope();
        return linear.forward(x).add(lora.forward(x)).MoveToOuterDisposeScope();
    }

    /// <summary>A plain linear layer computing the same: <c>W + (alpha / rank) · (A · B)ᵀ</c>, the same bias.</summary>
    public Linear Merged()
    {
        var weight = linear.weight!;
        var merged = nn.Linear(weight.shape[1], weight.shape[0], hasBias: linear.bias is not null, device: weight.device, dtype: weight.dtype);
        using (no_grad())
        using (NewDisposeScope())
        {
            merged.weight!.copy_(weight.add(lora.WeightDelta()));
            if (linear.bias is { } bias) merged.bias!.copy_(bias);
        }
        merged.weight!.requires_grad = weight.requires_grad;
        if (merged.bias is { } mergedBias) mergedBias.requires_grad = linear.bias!.requires_grad;
        return merged;
    }
}
