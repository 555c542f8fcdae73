using System.Text.Json.Nodes;

namespace LlmForge.Preference;

/// <summary>
/// Direct preference optimisation's loss (the book's <c>compute_dpo_loss_batch</c>) against a frozen
/// reference model: −log σ(β·((π_c − π_r) − (ref_c − ref_r))), averaged over the batch, where each term
/// is a sequence's mean log-probability over its response tokens (<see cref="SequenceLogProbability"/>).
/// </summary>
/// <remarks>
/// <see cref="Batch"/> is the trainer's <see cref="BatchLoss{TBatch}"/>. It returns only the loss and the
/// pairs counted, so it also adds each batch's rewards to a running sum; after the optimiser step the
/// trainer takes their mean with <see cref="TakeStepScores"/> (or writes it into the step's metrics line
/// with <see cref="RecordStep"/>), which starts the next sum. The rewards are the ones of the forward
/// pass that gave the step's loss, before the update, at no extra cost.
/// </remarks>
public sealed class DpoLoss
{
    double _lossSum, _chosenSum, _rejectedSum;
    int _batches;

    /// <param name="reference">the model the policy started from, never trained: its log-probabilities are taken without gradients, in eval mode.</param>
    /// <param name="beta">how far the policy may move from the reference (the book: 0.1).</param>
    public DpoLoss(ILanguageModel reference, double beta = 0.1)
    {
        if (!(beta > 0) || !double.IsFinite(beta)) throw new BadInputException($"--beta must be a positive number, got {beta}");
        Reference = reference;
        Beta = beta;
    }

    public ILanguageModel Reference { get; }

    public double Beta { get; }

    /// <summary>
    /// The book's <c>compute_dpo_loss</c> on sequence log-probabilities <c>[B]</c>: the mean loss (with its
    /// graph) and each pair's chosen and rejected reward (policy − reference; detached).
    /// </summary>
    public static (Tensor Loss, Tensor ChosenRewards, Tensor RejectedRewards) Compute(
        Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected, double beta)
    {
        using var scope = NewDisposeScope();
        var logits = (policyChosen - policyRejected) - (referenceChosen - referenceRejected);
        var loss = -nn.functional.logsigmoid(beta * logits).mean();
        var chosen = (policyChosen - referenceChosen).detach();
        var rejected = (policyRejected - referenceRejected).detach();
        return (loss.MoveToOuterDisposeScope(), chosen.MoveToOuterDisposeScope(), rejected.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The reference's log-probabilities of the batch's chosen and rejected sequences, on <paramref name="device"/>:
    /// without gradients and with dropout off (the reference's mode is restored after, in case it shares modules with the policy).
    /// </summary>
    public (Tensor Chosen, Tensor Rejected) ReferenceLogProbabilities(PreferenceBatch batch, Device device)
    {
        using var scope = NewDisposeScope();
        bool wasTraining = Reference.Module.training;
        if (wasTraining) Reference.Module.eval();
        try
        {
            using var noGrad = no_grad();
            var at = Reference.Device;
            var chosen = SequenceLogProbability.Of(Reference, batch.ChosenTensor(at), batch.ChosenMaskTensor(at)).to(device);
            var rejected = SequenceLogProbability.Of(Reference, batch.RejectedTensor(at), batch.RejectedMaskTensor(at)).to(device);
            return (chosen.MoveToOuterDisposeScope(), rejected.MoveToOuterDisposeScope());
        }
        finally
        {
            if (wasTraining) Reference.Module.train();
        }
    }

    /// <summary>
    /// The batch's loss tensor (with the policy's graph), the pairs it counted, and the batch's loss and
    /// mean chosen and rejected rewards as numbers. Records nothing.
    /// </summary>
    public (Tensor Loss, long Count, DpoScores Scores) Score(ILanguageModel policy, PreferenceBatch batch)
    {
        using var scope = NewDisposeScope();
        var device = policy.Device;
        var (referenceChosen, referenceRejected) = ReferenceLogProbabilities(batch, device);
        var policyChosen = SequenceLogProbability.Of(policy, batch.ChosenTensor(device), batch.ChosenMaskTensor(device));
        var policyRejected = SequenceLogProbability.Of(policy, batch.RejectedTensor(device), batch.RejectedMaskTensor(device));
        var (loss, chosen, rejected) = Compute(policyChosen, policyRejected, referenceChosen, referenceRejected, Beta);
        // The three numbers in one read from the device.
        var values = stack([loss.detach(), chosen.mean(), rejected.mean()]).to(ScalarType.Float64).cpu().data<double>().ToArray();
        return (loss.MoveToOuterDisposeScope(), batch.BatchSize, new DpoScores(values[0], values[1], values[2]));
    }

    /// <summary>The trainer's <see cref="BatchLoss{TBatch}"/>: <see cref="Score"/>, with the batch's loss and rewards added to this step's sums.</summary>
    public (Tensor Loss, long Count) Batch(ILanguageModel policy, PreferenceBatch batch)
    {
        var (loss, count, scores) = Score(policy, batch);
        _lossSum += scores.Loss;
        _chosenSum += scores.ChosenReward;
        _rejectedSum += scores.RejectedReward;
        _batches++;
        return (loss, count);
    }

    /// <summary>The mean loss and rewards of the batches <see cref="Batch"/> scored since the last call (null when none); starts over.</summary>
    public DpoScores? TakeStepScores()
    {
        DpoScores? scores = _batches == 0 ? null : new DpoScores(_lossSum / _batches, _chosenSum / _batches, _rejectedSum / _batches);
        _lossSum = _chosenSum = _rejectedSum = 0;
        _batches = 0;
        return scores;
    }

    /// <summary>Writes this step's <c>chosen_reward</c> and <c>rejected_reward</c> (<see cref="TakeStepScores"/>) into its metrics line.</summary>
    public void RecordStep(JsonObject entry)
    {
        if (TakeStepScores() is not { } scores) return;
        entry["chosen_reward"] = Math.Round(scores.ChosenReward, 6);
        entry["rejected_reward"] = Math.Round(scores.RejectedReward, 6);
    }
}
