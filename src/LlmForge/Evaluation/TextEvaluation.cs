using LlmForge.Training;

namespace LlmForge.Evaluation;

/// <summary>
/// Evaluates a model on a text (chapter 5's loss, over a whole text): the ids are cut into non-overlapping
/// windows of a context length, each window's next-token loss computed without gradients, and the mean
/// taken over all windows.
/// </summary>
public static class TextEvaluation
{
    /// <summary>Refuses windows longer than the model's context; a command checks this before it reads and encodes a long text.</summary>
    /// <exception cref="BadInputException">the context length is longer than the model's.</exception>
    public static void RequireContextLength(int modelContext, int contextLength)
    {
        if (contextLength > modelContext)
            throw new BadInputException($"--context-length {contextLength} is longer than the model's context of {modelContext}");
    }

    /// <summary>The mean next-token loss of <paramref name="model"/> on <paramref name="ids"/>.</summary>
    /// <param name="progress">called after each batch with the windows done and the windows in all.</param>
    /// <exception cref="BadInputException">the context length is longer than the model's, the text too short for one window, or a batch cannot fit in memory.</exception>
    public static TextEvaluationResult Evaluate(ILanguageModel model, int[] ids, int contextLength, int batchSize, Action<int, int>? progress = null)
    {
        RequireContextLength(model.ContextLength, contextLength);
        var dataset = new GptDataset(ids, contextLength, contextLength);
        var loader = new DataLoader(dataset, batchSize, dropLast: false);
        int rows = Math.Max(1, Math.Min(batchSize, dataset.Count));
        MemoryBudget.Require(model.ForwardBytes((long)rows * contextLength),
            $"a batch of {rows:N0} windows of {contextLength:N0} tokens (logits over a vocabulary of {model.OutputSize:N0}; a smaller --batch-size needs less)");
        var device = model.Device;
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            // Sum over every window (the last batch may be smaller), then divide: the mean over all windows.
            double total = 0;
            int done = 0;
            using (no_grad())
                foreach (var batch in loader.Batches())
                {
                    using var scope = NewDisposeScope();
                    total += Loss.CalcLossBatch(model, batch.InputTensor(device), batch.TargetTensor(device)).item<float>() * batch.BatchSize;
                    done += batch.BatchSize;
                    progress?.Invoke(done, dataset.Count);
                }
            return new TextEvaluationResult(total / done, done, contextLength);
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
    }
}
