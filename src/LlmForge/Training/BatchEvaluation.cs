namespace LlmForge.Training;

/// <summary>
/// The frame of every evaluation over batches (the book's <c>calc_*_loader</c>): the model in eval mode
/// (dropout off) without gradients, the first N batches of an epoch, each batch's tensors freed after it,
/// and the model's mode restored afterwards.
/// </summary>
public static class BatchEvaluation
{
    /// <param name="numBatches">batches to score from the start of <paramref name="epoch"/>; all of them when null.</param>
    public static void ForEach<TBatch>(ILanguageModel model, IBatchSource<TBatch> loader, int? numBatches, int epoch, Action<TBatch> score)
    {
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in loader.Batches(epoch).Take(Math.Min(numBatches ?? loader.Count, loader.Count)))
            {
                using var scope = NewDisposeScope();
                score(batch);
            }
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
    }
}
