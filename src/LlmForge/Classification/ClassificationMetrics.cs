using LlmForge.Training;

namespace LlmForge.Classification;

/// <summary>The book's <c>calc_accuracy_loader</c> and <c>calc_loss_loader</c> for a classifier, in eval mode without gradients.</summary>
public static class ClassificationMetrics
{
    /// <summary>
    /// The fraction of examples whose highest logit is their class, over the first <paramref name="numBatches"/>
    /// batches of <paramref name="epoch"/> (all when null); NaN when there are none.
    /// </summary>
    public static double Accuracy(ILanguageModel model, ClassificationLoader loader, int? numBatches = null,
        ClassificationPooling pooling = ClassificationPooling.Last, int epoch = 0)
    {
        long correct = 0, examples = 0;
        Evaluate(model, loader, numBatches, epoch, batch =>
        {
            var predicted = ClassificationLoss.Logits(model, batch, pooling).argmax(-1);
            var labels = batch.LabelTensor(model.Device);
            correct += predicted.eq(labels).sum().item<long>();
            examples += batch.BatchSize;
        });
        return examples == 0 ? double.NaN : (double)correct / examples;
    }

    /// <summary>The mean batch loss over the first <paramref name="numBatches"/> batches (all when null); NaN when there are none, as the book.</summary>
    public static double MeanLoss(ILanguageModel model, ClassificationLoader loader, int? numBatches = null,
        ClassificationPooling pooling = ClassificationPooling.Last, int epoch = 0)
    {
        double total = 0;
        int batches = 0;
        Evaluate(model, loader, numBatches, epoch, batch =>
        {
            total += ClassificationLoss.Batch(model, batch, pooling).Loss.item<float>();
            batches++;
        });
        return batches == 0 ? double.NaN : total / batches;
    }

    /// <summary>
    /// <see cref="MeanLoss"/> and <see cref="Accuracy"/> of the same batches from one forward pass each
    /// (what an evaluation records; half the work of asking for them apart).
    /// </summary>
    public static (double Loss, double Accuracy) LossAndAccuracy(ILanguageModel model, ClassificationLoader loader, int? numBatches = null,
        ClassificationPooling pooling = ClassificationPooling.Last, int epoch = 0)
    {
        double total = 0;
        int batches = 0;
        long correct = 0, examples = 0;
        Evaluate(model, loader, numBatches, epoch, batch =>
        {
            var logits = ClassificationLoss.Logits(model, batch, pooling);
            var labels = batch.LabelTensor(model.Device);
            total += nn.functional.cross_entropy(logits, labels).item<float>();
            correct += logits.argmax(-1).eq(labels).sum().item<long>();
            examples += batch.BatchSize;
            batches++;
        });
        return batches == 0 ? (double.NaN, double.NaN) : (total / batches, (double)correct / examples);
    }

    static void Evaluate(ILanguageModel model, ClassificationLoader loader, int? numBatches, int epoch, Action<ClassificationBatch> score) =>
        BatchEvaluation.ForEach(model, loader, numBatches, epoch, score);
}
