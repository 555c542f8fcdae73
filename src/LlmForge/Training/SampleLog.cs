using System.Text.RegularExpressions;

namespace LlmForge.Training;

/// <summary>
/// <c>RUN/samples.txt</c>: the text a model generates at each evaluation, one block per sample (a
/// <c>[step N]</c> line, the text with its newlines, a blank line), cut back when a run resumes.
/// </summary>
public sealed partial class SampleLog(string path)
{
    public void Append(long step, string text) => File.AppendAllText(path, $"[step {step}]\n{text}\n\n");

    /// <summary>Drops the samples of steps after <paramref name="step"/> (a resumed run writes them again).</summary>
    public void TruncateAfter(long step)
    {
        if (!File.Exists(path)) return;
        var kept = new List<string>();
        bool keeping = true;
        foreach (var line in File.ReadLines(path))
        {
            // Each block starts with "[step N]"; the lines up to the next header belong to it.
            var header = Header().Match(line);
            if (header.Success) keeping = long.TryParse(header.Groups[1].Value, out long s) && s <= step;
            if (keeping) kept.Add(line);
        }
        AtomicFile.WriteAllLines(path, kept);
    }

    [GeneratedRegex(@"^\[step ([0-9]+)\]")]
    private static partial Regex Header();
}
