using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>A run's plot (<c>loss.png</c>, <c>accuracy.png</c>): chosen metrics against tokens (or examples) seen, as the book plots them.</summary>
public static class MetricsPlot
{
    /// <param name="xKey">the metrics key of the x axis (<c>tokens_seen</c>, <c>examples_seen</c>).</param>
    /// <param name="series">each metric's key in <c>metrics.jsonl</c>, its legend, and whether it is drawn as a thin line without markers (every step).</param>
    public static void Save(string path, IReadOnlyList<JsonObject> metrics, string xKey, string yLabel, IEnumerable<(string Key, string Label, bool Thin)> series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (key, label, thin) in series)
        {
            var points = metrics.Where(m => m[key] != null && m[xKey] != null)
                .Select(m => (X: Number(m[xKey]!), Y: Number(m[key]!)))
                .Where(p => double.IsFinite(p.Y)).ToArray();
            if (points.Length == 0) continue;
            var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            scatter.LegendText = label;
            scatter.MarkerSize = thin ? 0 : 4;
            scatter.LineWidth = thin ? 1 : 2;
        }
        plot.XLabel(xKey.Replace('_', ' '));
        plot.YLabel(yLabel);
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
