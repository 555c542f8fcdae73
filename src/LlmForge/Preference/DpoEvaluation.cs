using LlmForge.Training;

namespace LlmForge.Preference;

/// <summary>The book's <c>evaluate_dpo_loss_loader</c>: DPO's loss and rewards over some batches, in eval mode without gradients.</summary>
public static class DpoEvaluation
{
    /// <summary>
    /// The mean over the first <paramref name="numBatches"/> batches of <paramref name="epoch"/> (all when
    /// null) of each batch's loss and mean rewards; NaN when there are none, as the book. The policy's mode
    /// is restored after; the loss's step sums are left alone.
    /// </summary>
    public static DpoScores Evaluate(ILanguageModel policy, DpoLoss loss, PreferenceLoader loader, int? numBatches = null, int epoch = 0)
    {
        double lossSum = 0, chosenSum = 0, rejectedSum = 0;
        int batches = 0;
        BatchEvaluation.ForEach(policy, loader, numBatches, epoch, batch =>
        {
            var scores = loss.Score(policy, batch).Scores;
            lossSum += scores.Loss;
            chosenSum += scores.ChosenReward;
            rejectedSum += scores.RejectedReward;
            batches++;
        });
        return batches == 0 ? new DpoScores(double.NaN, double.NaN, double.NaN) : new DpoScores(lossSum / batches, chosenSum / batches, rejectedSum / batches);
    }
}
