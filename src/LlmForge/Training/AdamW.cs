namespace LlmForge.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter), as <c>torch.optim.AdamW</c> computes it and the book uses it: weight
/// decay is applied to the weights directly (p ← p·(1 − lr·wd)), on every parameter, then the Adam
/// step with bias-corrected moments. Written out so that its state can be saved and restored exactly,
/// and every update happens in place, fp32 CPU parameters in one fused pass (<see cref="AdamWKernel"/>).
/// Freezing is explicit: a parameter that does not require gradients gets no state, no update and no
/// weight decay, whatever its gradient; so a fine-tuning run's optimiser state covers only what it trains.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly (string Name, Tensor Parameter)[] _parameters;
    readonly Dictionary<string, (Tensor ExpAvg, Tensor ExpAvgSq)> _state = new(StringComparer.Ordinal);

    public AdamW(IEnumerable<(string Name, Tensor Parameter)> parameters, double lr, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _parameters = parameters.Where(p => p.Parameter.requires_grad).ToArray();
        LearningRate = lr;
        WeightDecay = weightDecay;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    /// <summary>AdamW over every parameter of <paramref name="model"/>, as the book's <c>AdamW(model.parameters(), ...)</c>.</summary>
    /// <remarks>Only the parameters that require gradients are taken: freeze before building the optimiser.</remarks>
    public static AdamW For(Model.ILanguageModel model, double lr, double weightDecay = 0.01) =>
        new(model.Module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), lr, weightDecay);

    /// <summary>The number of weights it trains.</summary>
    public long TrainableCount => _parameters.Sum(p => p.Parameter.numel());

    public double LearningRate { get; set; }
    public double WeightDecay { get; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }

    /// <summary>Updates taken so far (Adam's t).</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// Drops the gradients, as PyTorch's <c>zero_grad()</c> does by default (set_to_none): the next
    /// backward pass then hands its fresh gradients over instead of adding them into zeroed ones,
    /// which saves two passes over every weight's worth of memory.
    /// </summary>
    public void ZeroGrad()
    {
        // Each .grad access wraps a handle; the scope releases the wrappers.
        using var scope = NewDisposeScope();
        foreach (var (_, p) in _parameters)
            if (p.grad is not null) p.grad = null;
    }

    public void Step()
    {
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        StepCount++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(Beta2, StepCount);
        var coefficients = new AdamWKernel.Coefficients((float)Beta1, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2), (float)(1 - LearningRate * WeightDecay),
            (float)(-LearningRate / biasCorrection1), (float)(1 / Math.Sqrt(biasCorrection2)), (float)Eps);
        foreach (var (name, p) in _parameters)
        {
            if (!p.requires_grad) continue; // frozen after the optimiser was built
            var grad = p.grad;
            if (grad is null) continue;
            if (!_state.TryGetValue(name, out var moments))
                _state[name] = moments = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
            if (AdamWKernel.Supports(p, grad, moments.ExpAvg, moments.ExpAvgSq))
            {
                AdamWKernel.Step(p, grad, moments.ExpAvg, moments.ExpAvgSq, coefficients);
                continue;
            }
            using var scope = NewDisposeScope();
            moments.ExpAvg.mul_(Beta1).add_(grad, alpha: 1 - Beta1);
            moments.ExpAvgSq.mul_(Beta2).addcmul_(grad, grad, value: 1 - Beta2);
            p.mul_(1 - LearningRate * WeightDecay);
            var denominator = moments.ExpAvgSq.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(Eps);
            p.addcdiv_(moments.ExpAvg, denominator, value: -LearningRate / biasCorrection1);
        }
    }

    /// <summary>The moments by name (<c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c>), for saving.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> StateTensors()
    {
        foreach (var (name, _) in _parameters)
            if (_state.TryGetValue(name, out var m))
            {
                yield return ("exp_avg." + name, m.ExpAvg);
                yield return ("exp_avg_sq." + name, m.ExpAvgSq);
            }
    }

    /// <summary>Restores moments saved by <see cref="StateTensors"/> and the step count.</summary>
    public void LoadState(Func<string, Tensor?> read, long stepCount, string source)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in _parameters)
        {
            var expAvg = read("exp_avg." + name);
            var expAvgSq = read("exp_avg_sq." + name);
            if (expAvg is null || expAvgSq is null)
            {
                if (stepCount > 0) throw new BadInputException($"{source}: no optimizer state for parameter '{name}'");
                continue;
            }
            if (!expAvg.shape.SequenceEqual(p.shape) || !expAvgSq.shape.SequenceEqual(p.shape))
                throw new BadInputException($"{source}: optimizer state for '{name}' has shape [{string.Join(", ", expAvg.shape)}], the parameter [{string.Join(", ", p.shape)}]");
            _state[name] = (expAvg.to(p.dtype, p.device).DetachFromDisposeScope(), expAvgSq.to(p.dtype, p.device).DetachFromDisposeScope());
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var (m, v) in _state.Values)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}
