using LlmForge.Training;

namespace LlmForge.Instruction;

/// <summary>The book's <c>calc_loss_loader</c> for instruction data, in eval mode without gradients.</summary>
public static class InstructionMetrics
{
    /// <summary>
    /// The mean batch loss (<see cref="InstructionLoss.Batch"/>) over the first <paramref name="numBatches"/>
    /// batches of <paramref name="epoch"/> (all when null); batches with no counted target are skipped, as
    /// they score nothing. NaN when no batch counts, as the book gives for an empty loader.
    /// </summary>
    public static double MeanLoss(ILanguageModel model, InstructionLoader loader, int? numBatches = null, int epoch = 0)
    {
        double total = 0;
        int batches = 0;
        BatchEvaluation.ForEach(model, loader, numBatches, epoch, batch =>
        {
            var (loss, counted) = InstructionLoss.Batch(model, batch);
            if (counted == 0) return;
            total += loss.item<float>();
            batches++;
        });
        return batches == 0 ? double.NaN : total / batches;
    }
}
