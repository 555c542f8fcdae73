namespace LlmForge.Training;

/// <summary>How one batch is scored: the loss tensor (with its graph) and the tokens or examples it counted.</summary>
public delegate (Tensor Loss, long Count) BatchLoss<in TBatch>(ILanguageModel model, TBatch batch);

/// <summary>
/// One optimiser step, the same for every trainer (pretraining, fine-tuning, <c>bench train</c>):
/// drop the gradients, copy the master weights into the bf16 compute model (mixed precision), seed
/// dropout, take each batch's loss and backpropagate it (accumulated over the batches given), clip
/// the gradients' global norm, and update with AdamW at the scheduled rate. What a batch is and how
/// it is scored is the caller's (<see cref="BatchLoss{TBatch}"/>).
/// </summary>
public sealed class TrainingStep<TBatch>
{
    readonly ILanguageModel _model;
    readonly AdamW _optimizer;
    readonly BatchLoss<TBatch> _loss;
    readonly MixedPrecision? _mixed;
    readonly double? _gradClip;

    public TrainingStep(ILanguageModel model, AdamW optimizer, BatchLoss<TBatch> loss, MixedPrecision? mixed = null, double? gradClip = null)
    {
        _model = model;
        _optimizer = optimizer;
        _loss = loss;
        _mixed = mixed;
        _gradClip = gradClip;
    }

    /// <summary>
    /// Trains on <paramref name="batches"/> (one optimiser step, their gradients accumulated) at
    /// <paramref name="learningRate"/>, with dropout seeded by <paramref name="dropoutSeed"/>. Returns the
    /// mean batch loss and the count the losses reported; when the loss is not finite the weights are left as they were.
    /// </summary>
    public (double Loss, long Count) Run(IReadOnlyList<TBatch> batches, double learningRate, long dropoutSeed)
    {
        if (batches.Count == 0) throw new ArgumentException("a training step needs at least one batch");
        _optimizer.LearningRate = learningRate;
        manual_seed(dropoutSeed);
        _optimizer.ZeroGrad();
        _mixed?.CopyWeights();
        var forwardModel = _mixed?.Compute ?? _model;
        double lossSum = 0;
        long count = 0;
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            var (loss, batchCount) = _loss(forwardModel, batch);
            (loss / batches.Count).backward();
            _mixed?.AccumulateGradients();
            lossSum += loss.item<float>();
            count += batchCount;
        }
        double mean = lossSum / batches.Count;
        if (!double.IsFinite(mean)) return (mean, count);
        if (_gradClip is double maxNorm) GradientClipping.ClipGradNorm(_model.Module.parameters(), maxNorm);
        _optimizer.Step();
        return (mean, count);
    }
}
