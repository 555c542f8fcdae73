namespace LlmForge.Training;

/// <summary>
/// bf16 mixed precision with fp32 master weights (Micikevicius et al., 2018): a bf16 copy of the model
/// runs the forward and backward passes, its gradients are added in fp32 to the master weights, and
/// AdamW updates those and keeps its moments in fp32. Each step starts by copying the master weights
/// into the bf16 copy. The loss itself is taken in fp32 (see <see cref="Loss.CalcLossBatch"/>).
/// Whether it is faster depends on the processor: bf16 products need AVX-512 BF16 or AMX to beat fp32.
/// </summary>
public sealed class MixedPrecision : IDisposable
{
    readonly (Tensor Master, Tensor Compute)[] _pairs;

    public MixedPrecision(ILanguageModel master)
    {
        Compute = master.NewOfSameShape();
        Compute.Module.to(master.Device);
        Compute.Module.to(ScalarType.BFloat16);
        var computeParameters = Compute.Module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        _pairs = master.Module.named_parameters().Select(p => ((Tensor)p.parameter, computeParameters[p.name])).ToArray();
        // A frozen master weight is frozen in the copy too: no gradient is computed for it.
        foreach (var (m, c) in _pairs) c.requires_grad = m.requires_grad;
        Compute.Module.train(); // it only ever trains: evaluation and sampling use the master weights
    }

    /// <summary>The bf16 model that computes the loss and the gradients.</summary>
    public ILanguageModel Compute { get; }

    /// <summary>Copies the master weights into the bf16 model (rounding to the nearest bf16).</summary>
    public void CopyWeights()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (master, compute) in _pairs) compute.copy_(master);
    }

    /// <summary>Adds the bf16 model's gradients to the master weights' in fp32, and drops them from the bf16 model.</summary>
    public void AccumulateGradients()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (master, compute) in _pairs)
        {
            if (compute.grad is not Tensor grad) continue;
            if (master.grad is Tensor existing) existing.add_(grad);
            else master.grad = grad.to(ScalarType.Float32); // the parameter holds its own reference
            compute.grad = null;
        }
    }

    public void Dispose() => Compute.Dispose();
}
