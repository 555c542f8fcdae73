using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>
/// LlmForge's native checkpoint: a directory with <c>config.json</c> (the book's model keys and the
/// tokenizer), <c>model.safetensors</c> (book names), and for training <c>optimizer.safetensors</c> and
/// <c>trainer_state.json</c>; <c>checksums.json</c> holds each file's SHA-256 and is verified on load.
/// Written into a temporary directory and renamed into place (<see cref="AtomicDirectory"/>), so a kill at any instant leaves either
/// the old checkpoint or the new one, never half of one. A run keeps its checkpoints under
/// <c>RUN/checkpoints/</c>, and <c>RUN/checkpoints/latest</c> names the newest.
/// </summary>
/// <remarks>
/// It lives with the other file formats; training uses it, and it knows nothing of training (the
/// optimizer's state comes in as named tensors).
/// </remarks>
public static partial class Checkpoint
{
    public const string ChecksumsFile = "checksums.json";

    /// <summary>A checkpoint's directory name in a run: <c>step-N</c>, N at least six digits (<see cref="StepName"/>).</summary>
    [GeneratedRegex(@"^step-[0-9]{6,}$")]
    public static partial Regex StepNamePattern();

    /// <summary>Writes a checkpoint to <paramref name="directory"/> (replacing one already there) and returns it.</summary>
    /// <remarks>
    /// A trained tokenizer (<paramref name="bundledTokenizer"/>) is saved inside, so the checkpoint stands alone; null means GPT-2's.
    /// <paramref name="optimizerState"/> (the optimizer's named state tensors) goes to <c>optimizer.safetensors</c>.
    /// The temporaries are <c>.tmp-NAME-GUID</c> and <c>.old-NAME-GUID</c> beside it, the names a run's clean-up knows.
    /// </remarks>
    public static string Save(string directory, ILanguageModel model, IBundledTokenizer? bundledTokenizer = null,
        IEnumerable<(string Name, Tensor Tensor)>? optimizerState = null, JsonObject? trainerState = null) =>
        AtomicDirectory.Write(directory, temporary =>
        {
            var config = model.ConfigJson(); // the hyperparameters and "architecture"
            config["tokenizer"] = bundledTokenizer == null ? "gpt2" : "tokenizer";
            bundledTokenizer?.Save(Path.Combine(temporary, "tokenizer"));
            config["format"] = "llmforge-checkpoint-1";
            WriteText(Path.Combine(temporary, "config.json"), config);
            SafeTensorsFile.Write(Path.Combine(temporary, "model.safetensors"),
                model.Module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
            if (optimizerState != null)
                SafeTensorsFile.Write(Path.Combine(temporary, "optimizer.safetensors"), optimizerState);
            if (trainerState != null) WriteText(Path.Combine(temporary, "trainer_state.json"), trainerState);
            var checksums = new JsonObject();
            foreach (var file in Directory.EnumerateFiles(temporary, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                checksums[Path.GetRelativePath(temporary, file)] = FileHash.Sha256(file);
            WriteText(Path.Combine(temporary, ChecksumsFile), checksums);
        });

    /// <summary>
    /// Checks every file against <c>checksums.json</c>, which must list every file of the checkpoint
    /// (so that an emptied or shortened list cannot switch verification off); a damaged, missing or
    /// unlisted file is a <see cref="BadInputException"/>.
    /// </summary>
    public static void Verify(string directory)
    {
        string listPath = Path.Combine(directory, ChecksumsFile);
        if (!File.Exists(listPath)) throw new BadInputException($"{directory}: not a complete checkpoint (no {ChecksumsFile})");
        var list = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var (file, expected) in JsonNode.Parse(File.ReadAllText(listPath))!.AsObject())
                list[file] = expected?.GetValue<string>() ?? throw new InvalidOperationException($"no checksum for {file}");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new BadInputException($"{listPath}: damaged ({e.Message})");
        }
        foreach (var required in new[] { "config.json", "model.safetensors" })
            if (!list.ContainsKey(required)) throw new BadInputException($"{listPath}: lists no checksum for {required}; every file of a checkpoint must have one");
        string root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        foreach (var (file, expected) in list)
        {
            string path = Path.GetFullPath(Path.Combine(directory, file));
            if (!path.StartsWith(root, StringComparison.Ordinal))
                throw new BadInputException($"{listPath}: names '{file}', outside the checkpoint");
            if (!File.Exists(path)) throw new BadInputException($"{directory}: {file} is missing");
            if (FileHash.Sha256(path) != expected)
                throw new BadInputException($"{path}: damaged (its SHA-256 does not match {ChecksumsFile})");
        }
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(directory, file);
            if (relative != ChecksumsFile && !list.ContainsKey(relative))
                throw new BadInputException($"{listPath}: lists no checksum for {relative}; every file of a checkpoint must have one");
        }
    }

    /// <summary>Whether <paramref name="directory"/>'s config.json says it is an LlmForge checkpoint (its <c>format</c> key).</summary>
    public static bool IsNative(string directory)
    {
        string config = Path.Combine(directory, "config.json");
        if (!File.Exists(config)) return false;
        try
        {
            return JsonNode.Parse(File.ReadAllText(config))?["format"] is JsonValue format
                && format.TryGetValue(out string? name) && name.StartsWith("llmforge-checkpoint", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false; // the config's own reader reports what is wrong with it
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
    /// <remarks><c>latest</c> may only name a <c>step-N</c> directory of this run; anything else is bad input.</remarks>
    public static string? Latest(string runDir)
    {
        string checkpoints = CheckpointsDir(runDir);
        string latest = Path.Combine(checkpoints, "latest");
        if (File.Exists(latest))
        {
            string name = File.ReadAllText(latest).Trim();
            if (!StepNamePattern().IsMatch(name))
                throw new BadInputException($"{latest}: names '{name}'; expected a step-N checkpoint of this run");
            string named = Path.Combine(checkpoints, name);
            if (Directory.Exists(named)) return named;
        }
        // No pointer (a kill between rename and pointer update): the highest complete step.
        return Directory.Exists(checkpoints)
            ? Directory.EnumerateDirectories(checkpoints, "step-*").Where(d => StepNamePattern().IsMatch(Path.GetFileName(d)) && File.Exists(Path.Combine(d, ChecksumsFile)))
                .OrderBy(StepOf).LastOrDefault()
            : null;
    }

    /// <summary>The step a checkpoint directory's name says it holds.</summary>
    public static long StepOf(string checkpoint) => long.Parse(Path.GetFileName(checkpoint)["step-".Length..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints, and leftovers of interrupted saves.</summary>
    public static void Prune(string runDir, int keep)
    {
        string checkpoints = CheckpointsDir(runDir);
        RemoveLeftovers(runDir);
        var steps = Directory.EnumerateDirectories(checkpoints, "step-*").Where(d => StepNamePattern().IsMatch(Path.GetFileName(d))).OrderBy(StepOf).ToList();
        foreach (var old in steps.Take(Math.Max(0, steps.Count - keep))) Directory.Delete(old, recursive: true);
    }

    /// <summary>
    /// Deletes what interrupted saves left in <c>RUN/checkpoints/</c>: <c>.tmp-step-*</c> and <c>.old-step-*</c>
    /// directories (<see cref="AtomicDirectory"/>'s names for a step) and a <c>latest.tmp</c> pointer. Only
    /// a process holding the run may call it: another's save in progress would look the same.
    /// </summary>
    public static void RemoveLeftovers(string runDir)
    {
        string checkpoints = CheckpointsDir(runDir);
        if (!Directory.Exists(checkpoints)) return;
        File.Delete(Path.Combine(checkpoints, "latest.tmp"));
        foreach (var leftover in Directory.EnumerateDirectories(checkpoints, ".tmp-step-*").Concat(Directory.EnumerateDirectories(checkpoints, ".old-step-*")))
            Directory.Delete(leftover, recursive: true);
    }

    static void WriteText(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
