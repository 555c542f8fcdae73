using System.Text.Json;

namespace LlmForge.Training;

/// <summary>
/// The files of a training run directory: what the trainer writes there, so that <c>--overwrite</c>
/// and the clean-up of interrupted writes touch those and nothing else.
/// </summary>
public static class RunFiles
{
    public const string Options = "options.json", Metrics = "metrics.jsonl", Plot = "loss.png", Samples = "samples.txt", Lock = RunLock.FileName;

    /// <summary>A classifier's run: its accuracy plot, and (<c>--keep-best</c>) the checkpoint of its best validation accuracy.</summary>
    public const string AccuracyPlot = "accuracy.png", Best = "best";

    /// <summary>An instruction run's answers to its test entries, written at the end.</summary>
    public const string TestResponses = "test-responses.json";

    /// <summary>A DPO run's plot of the chosen and rejected rewards.</summary>
    public const string RewardsPlot = "rewards.png";

    /// <summary>Temporaries left by a write that was killed or ran out of disk: ours, and safe to delete.</summary>
    static readonly string[] Temporaries = [Options + ".tmp", Metrics + ".tmp", Samples + ".tmp", Plot + ".tmp.png", AccuracyPlot + ".tmp.png", TestResponses + ".tmp", RewardsPlot + ".tmp.png"];

    /// <summary>A run directory as an <see cref="OutputKind"/>: its own files and, inside <c>checkpoints/</c>, checkpoints.</summary>
    public static readonly OutputKind Kind = new("run",
        name => name is Options or Metrics or Plot or Samples or Lock or "checkpoints" or AccuracyPlot or Best or TestResponses or RewardsPlot
            || Temporaries.Contains(name) || IsBestLeftover(name),
        (directory, inner) => directory == Best || IsBestLeftover(directory)
            || inner is "latest" or "latest.tmp" || Checkpoint.StepNamePattern().IsMatch(inner) || inner.StartsWith(".tmp-step-") || inner.StartsWith(".old-step-"));

    /// <summary>What an interrupted save of <c>best/</c> leaves (<see cref="AtomicDirectory"/>'s names).</summary>
    static bool IsBestLeftover(string name) => name.StartsWith(".tmp-" + Best + "-") || name.StartsWith(".old-" + Best + "-");

    /// <summary>Deletes temporaries of earlier writes that never finished (the caller holds the run's lock).</summary>
    public static void RemoveStaleTemporaries(string runDir)
    {
        foreach (var name in Temporaries)
            if (File.Exists(Path.Combine(runDir, name))) File.Delete(Path.Combine(runDir, name));
        foreach (var leftover in Directory.EnumerateDirectories(runDir).Where(d => IsBestLeftover(Path.GetFileName(d))))
            Directory.Delete(leftover, recursive: true);
        Checkpoint.RemoveLeftovers(runDir);
    }

    /// <summary>The options a run was started with (<c>options.json</c>), or null when it has none.</summary>
    public static TOptions? ReadOptions<TOptions>(string runDir) where TOptions : TrainingOptions
    {
        string path = Path.Combine(runDir, Options);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<TOptions>(File.ReadAllText(path), TrainingOptions.Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: damaged ({e.Message})");
        }
    }
}
