namespace LlmForge.Training;

/// <summary>Appendix D's gradient clipping: scale all gradients together so their global L2 norm is at most <c>maxNorm</c>.</summary>
public static class GradientClipping
{
    /// <summary>Clips in place, as <c>torch.nn.utils.clip_grad_norm_</c> does; returns the norm before clipping.</summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToArray();
        if (grads.Length == 0) return 0;
        var total = stack(grads.Select(g => g.norm()).ToArray()).norm();
        double norm = total.item<float>();
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1)
            foreach (var g in grads) g.mul_(coefficient);
        return norm;
    }
}
