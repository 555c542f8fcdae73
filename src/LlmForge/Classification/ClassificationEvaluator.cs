using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Classification;

/// <summary>
/// A classifier's evaluation (the book's <c>evaluate_model</c> and <c>calc_accuracy_loader</c>): loss
/// and accuracy on a few batches of the training and validation sets; <c>loss.png</c> and
/// <c>accuracy.png</c>; with <c>--keep-best</c>, the model of the best validation accuracy (ties: the
/// lower validation loss) saved to <c>RUN/best/</c>.
/// </summary>
public sealed class ClassificationEvaluator(string runDir, ClassificationLoader train, ClassificationLoader validation, int batches,
    ClassificationPooling pooling, bool keepBest, ITokenizer tokenizer) : IEvaluator
{
    (long Step, double Accuracy, double Loss)? _best;

    public string SeenKey => "examples_seen";

    string BestDir => Path.Combine(runDir, RunFiles.Best);

    public string Evaluate(ILanguageModel model, long step, JsonObject entry)
    {
        var (trainLoss, trainAccuracy) = ClassificationMetrics.LossAndAccuracy(model, train, batches, pooling);
        var (valLoss, valAccuracy) = ClassificationMetrics.LossAndAccuracy(model, validation, batches, pooling);
        entry["eval_train_loss"] = Math.Round(trainLoss, 6);
        entry["val_loss"] = Math.Round(valLoss, 6);
        entry["train_accuracy"] = Math.Round(trainAccuracy, 6);
        entry["val_accuracy"] = Math.Round(valAccuracy, 6);
        string report = $"step {step}: train loss {trainLoss:F3}, val loss {valLoss:F3}, train accuracy {trainAccuracy:P1}, val accuracy {valAccuracy:P1}";
        if (keepBest && (_best is not var (_, accuracy, loss) || valAccuracy > accuracy || valAccuracy == accuracy && valLoss < loss))
        {
            var state = new JsonObject { ["step"] = step, ["val_accuracy"] = valAccuracy, ["val_loss"] = valLoss };
            Checkpoint.Save(BestDir, model, TokenizerLoader.ToBundle(tokenizer), trainerState: state);
            _best = (step, valAccuracy, valLoss);
            report += $"; the best so far, saved to {RunFiles.Best}/";
        }
        return report;
    }

    /// <summary>
    /// A resumed run takes up the best model saved so far; one saved after <paramref name="step"/> goes, since the
    /// replayed steps save it again.
    /// </summary>
    public void ContinueFrom(long step)
    {
        _best = null;
        string statePath = Path.Combine(BestDir, "trainer_state.json");
        if (!keepBest || !File.Exists(statePath)) return;
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        long bestStep = state["step"]!.GetValue<long>();
        if (bestStep > step) Directory.Delete(BestDir, recursive: true);
        else _best = (bestStep, state["val_accuracy"]!.GetValue<double>(), state["val_loss"]!.GetValue<double>());
    }

    public void Plot(IReadOnlyList<JsonObject> entries)
    {
        LossPlot.Save(Path.Combine(runDir, RunFiles.Plot), entries, SeenKey);
        MetricsPlot.Save(Path.Combine(runDir, RunFiles.AccuracyPlot), entries, SeenKey, "accuracy",
            [("train_accuracy", "training accuracy", false), ("val_accuracy", "validation accuracy", false)]);
    }
}
