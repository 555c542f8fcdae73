using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary><c>RUN/loss.png</c>: training and validation loss against tokens seen, as the book plots them.</summary>
public static class LossPlot
{
    public static void Save(string path, IReadOnlyList<JsonObject> metrics, string xKey = "tokens_seen") =>
        MetricsPlot.Save(path, metrics, xKey, "loss",
        [
            ("train_loss", "training loss (each step)", true),
            ("eval_train_loss", "training loss (evaluation)", false),
            ("val_loss", "validation loss", false),
        ]);
}
