using LlmForge.Training;
namespace LlmForge.Classification;

/// <summary>One text's class: the most likely label and every label's probability (softmax of the logits).</summary>
public sealed record TextClass(string Label, IReadOnlyList<(string Label, double Probability)> Probabilities);

/// <summary>
/// The book's <c>classify_review</c>: a trained classifier's label for new texts, each read as the model
/// was trained to read it (ids cut or padded to the training length, the same pooling).
/// </summary>
public static class TextClassifier
{
    public static IReadOnlyList<TextClass> Classify(IClassifierModel model, ITokenizer tokenizer, IReadOnlyList<string> texts, int batchSize = 8)
    {
        var labels = model.Labels ?? throw new BadInputException(
            $"the model is not a classifier (its head gives {model.OutputSize:N0} outputs and names no classes); make one with llmforge finetune classify");
        var (length, pooling) = model.ClassifierInput ?? (model.ContextLength, "last");
        int padId = tokenizer.PadId ?? tokenizer.EndOfTextId ?? 0;
        var ids = texts.Select(t => tokenizer.Encode(t)).ToList();
        var set = new ClassificationDataset(ids, new int[ids.Count], Math.Min(length, model.ContextLength), padId);
        var loader = new ClassificationLoader(set, batchSize, shuffle: false, dropLast: false);
        var results = new List<TextClass>();
        var pool = pooling == "mean" ? ClassificationPooling.Mean : ClassificationPooling.Last;
        BatchEvaluation.ForEach(model, loader, null, 0, batch =>
        {
            var probabilities = ClassificationLoss.Logits(model, batch, pool).softmax(-1).to(ScalarType.Float64).cpu().data<double>().ToArray();
            for (int row = 0; row < batch.BatchSize; row++)
            {
                var scores = labels.Select((label, c) => (label, probabilities[row * labels.Count + c])).ToList();
                results.Add(new TextClass(scores.MaxBy(s => s.Item2).label, scores));
            }
        });
        return results;
    }
}
