using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Interop;
using LlmForge.Model;
using LlmForge.Text;

namespace LlmForge.Training;

/// <summary>
/// LlmForge's native checkpoint: a directory with <c>config.json</c> (the book's model keys and the
/// tokenizer), <c>model.safetensors</c> (book names), and for training <c>optimizer.safetensors</c> and
/// <c>trainer_state.json</c>; <c>checksums.json</c> holds each file's SHA-256 and is verified on load.
/// Written into a temporary directory and renamed into place, so a kill at any instant leaves either
/// the old checkpoint or the new one, never half of one. A run keeps its checkpoints under
/// <c>RUN/checkpoints/</c>, and <c>RUN/checkpoints/latest</c> names the newest.
/// </summary>
public static class Checkpoint
{
    public const string ChecksumsFile = "checksums.json";

    /// <summary>Writes a checkpoint to <paramref name="directory"/> (replacing one already there) and returns it.</summary>
    /// <remarks>A trained tokenizer (<paramref name="bundledTokenizer"/>) is saved inside, so the checkpoint stands alone; null means GPT-2's.</remarks>
    public static string Save(string directory, GptModel model, Gpt2Tokenizer? bundledTokenizer = null, AdamW? optimizer = null, JsonObject? trainerState = null)
    {
        directory = Path.GetFullPath(directory);
        string parent = Path.GetDirectoryName(directory)!;
        Directory.CreateDirectory(parent);
        string temporary = Path.Combine(parent, $".tmp-{Path.GetFileName(directory)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            var config = model.Config.ToJson();
            config["tokenizer"] = bundledTokenizer == null ? "gpt2" : "tokenizer";
            bundledTokenizer?.Save(Path.Combine(temporary, "tokenizer"));
            config["format"] = "llmforge-checkpoint-1";
            WriteText(Path.Combine(temporary, "config.json"), config);
            SafeTensorsFile.Write(Path.Combine(temporary, "model.safetensors"),
                model.named_parameters().Select(p => (p.name, (TorchSharp.torch.Tensor)p.parameter)));
            if (optimizer != null)
                SafeTensorsFile.Write(Path.Combine(temporary, "optimizer.safetensors"), optimizer.StateTensors());
            if (trainerState != null) WriteText(Path.Combine(temporary, "trainer_state.json"), trainerState);
            var checksums = new JsonObject();
            foreach (var file in Directory.EnumerateFiles(temporary, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                checksums[Path.GetRelativePath(temporary, file)] = FileHash.Sha256(file);
            WriteText(Path.Combine(temporary, ChecksumsFile), checksums);

            // Replace: move any old copy aside, move the new one in, then delete the old.
            string? old = null;
            if (Directory.Exists(directory))
            {
                old = Path.Combine(parent, $".old-{Path.GetFileName(directory)}-{Guid.NewGuid():N}");
                Directory.Move(directory, old);
            }
            Directory.Move(temporary, directory);
            if (old != null) Directory.Delete(old, recursive: true);
            return directory;
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>Checks every file against <c>checksums.json</c>; a damaged or missing file is a <see cref="BadInputException"/>.</summary>
    public static void Verify(string directory)
    {
        string listPath = Path.Combine(directory, ChecksumsFile);
        if (!File.Exists(listPath)) throw new BadInputException($"{directory}: not a complete checkpoint (no {ChecksumsFile})");
        JsonObject list;
        try
        {
            list = JsonNode.Parse(File.ReadAllText(listPath))!.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new BadInputException($"{listPath}: damaged ({e.Message})");
        }
        foreach (var (file, expected) in list)
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path)) throw new BadInputException($"{directory}: {file} is missing");
            if (FileHash.Sha256(path) != expected?.GetValue<string>())
                throw new BadInputException($"{path}: damaged (its SHA-256 does not match {ChecksumsFile})");
        }
    }

    public static string CheckpointsDir(string runDir) => Path.Combine(runDir, "checkpoints");

    public static string StepName(long step) => $"step-{step:D6}";

    /// <summary>Records <paramref name="checkpoint"/> as the run's newest (atomically).</summary>
    public static void MarkLatest(string runDir, string checkpoint)
    {
        string latest = Path.Combine(CheckpointsDir(runDir), "latest");
        AtomicFile.WriteAllText(latest, Path.GetFileName(checkpoint));
    }

    /// <summary>The newest checkpoint of a run, or null when it has none.</summary>
    public static string? Latest(string runDir)
    {
        string checkpoints = CheckpointsDir(runDir);
        string latest = Path.Combine(checkpoints, "latest");
        if (File.Exists(latest))
        {
            string named = Path.Combine(checkpoints, File.ReadAllText(latest).Trim());
            if (Directory.Exists(named)) return named;
        }
        // No pointer (a kill between rename and pointer update): the highest complete step.
        return Directory.Exists(checkpoints)
            ? Directory.EnumerateDirectories(checkpoints, "step-*").Where(d => File.Exists(Path.Combine(d, ChecksumsFile))).Order(StringComparer.Ordinal).LastOrDefault()
            : null;
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints, and leftovers of interrupted saves.</summary>
    public static void Prune(string runDir, int keep)
    {
        string checkpoints = CheckpointsDir(runDir);
        foreach (var leftover in Directory.EnumerateDirectories(checkpoints, ".tmp-*").Concat(Directory.EnumerateDirectories(checkpoints, ".old-*")))
            Directory.Delete(leftover, recursive: true);
        var steps = Directory.EnumerateDirectories(checkpoints, "step-*").Order(StringComparer.Ordinal).ToList();
        foreach (var old in steps.Take(Math.Max(0, steps.Count - keep))) Directory.Delete(old, recursive: true);
    }

    static void WriteText(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
