using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary><c>RUN/loss.png</c>: training and validation loss against tokens seen, as the book plots them.</summary>
public static class LossPlot
{
    public static void Save(string path, IReadOnlyList<JsonObject> metrics)
    {
        var plot = new ScottPlot.Plot();
        void Series(string key, string label, bool markersOnly)
        {
            var points = metrics.Where(m => m[key] != null)
                .Select(m => (X: Number(m["tokens_seen"]!), Y: Number(m[key]!)))
                .Where(p => double.IsFinite(p.Y)).ToArray();
            if (points.Length == 0) return;
            var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            scatter.LegendText = label;
            scatter.MarkerSize = markersOnly ? 0 : 4;
            scatter.LineWidth = markersOnly ? 1 : 2;
        }
        Series("train_loss", "training loss (each step)", markersOnly: true);
        Series("eval_train_loss", "training loss (evaluation)", markersOnly: false);
        Series("val_loss", "validation loss", markersOnly: false);
        plot.XLabel("tokens seen");
        plot.YLabel("loss");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        string temporary = path + ".tmp.png";
        try
        {
            plot.SavePng(temporary, 900, 540);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            // A full disk: leave the last good plot and no half-written temporary.
            File.Delete(temporary);
            throw;
        }
    }

    // Entries built in this process hold longs or doubles; entries read back from the file, JSON numbers.
    static double Number(JsonNode node) => double.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
}
