using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// <c>RUN/metrics.jsonl</c>: one JSON object per optimiser step, appended and flushed as it happens,
/// so a killed run keeps every line it wrote. On resume, lines past the checkpoint are dropped.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _writer;

    public MetricsLog(string path, long keepUpToStep)
    {
        Path = path;
        var kept = File.Exists(path) ? File.ReadAllLines(path).Where(line => StepOf(line) is long s && s <= keepUpToStep).ToList() : [];
        AtomicFile.WriteAllLines(path, kept);
        Entries = kept.Select(line => JsonNode.Parse(line)!.AsObject()).ToList();
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    public string Path { get; }

    /// <summary>Every entry so far, for the loss plot.</summary>
    public List<JsonObject> Entries { get; }

    public void Append(JsonObject entry)
    {
        _writer.WriteLine(entry.ToJsonString());
        Entries.Add(entry);
    }

    static long? StepOf(string line)
    {
        try
        {
            return JsonNode.Parse(line)?["step"]?.GetValue<long>();
        }
        catch (JsonException)
        {
            return null; // a line cut short by a kill
        }
    }

    public void Dispose() => _writer.Dispose();
}
