namespace LlmForge;

/// <summary>
/// What LlmForge writes into an output directory of one kind (a training run, an export): the names
/// of its entries, so that anything else found there is known not to be ours.
/// </summary>
/// <param name="Noun">"run", "export": used in messages.</param>
/// <param name="Owns">Whether a top-level entry (a file or directory name) is one this kind writes.</param>
/// <param name="OwnsInside">For a directory entry that is ours, whether a name inside it is ours too (null: anything).</param>
public sealed record OutputKind(string Noun, Func<string, bool> Owns, Func<string, string, bool>? OwnsInside = null);

/// <summary>
/// Guards <c>--out</c> directories. A new output may go into a missing or empty directory, or replace
/// output of its own kind when asked (<c>--overwrite</c>). It never removes the current directory or
/// a parent of it, a directory that holds one of the command's inputs, or anything LlmForge did not
/// write there: only the entries <see cref="OutputKind.Owns"/> recognises are deleted, and a directory
/// holding anything else is refused with the names of what it holds.
/// </summary>
public static class OutputDirectory
{
    /// <summary>The entries of <paramref name="directory"/> that are not the kind's (relative paths); empty when none or no directory.</summary>
    public static List<string> ForeignEntries(string directory, OutputKind kind)
    {
        var foreign = new List<string>();
        if (!Directory.Exists(directory)) return foreign;
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            if (!kind.Owns(name))
            {
                foreign.Add(name);
                continue;
            }
            bool isRealDirectory = Directory.Exists(entry) && new DirectoryInfo(entry).LinkTarget == null;
            if (isRealDirectory && kind.OwnsInside != null)
                foreign.AddRange(Directory.EnumerateFileSystemEntries(entry).Select(Path.GetFileName)
                    .Where(inner => !kind.OwnsInside(name, inner!)).Order(StringComparer.Ordinal).Select(inner => $"{name}/{inner}"));
        }
        return foreign;
    }

    /// <summary>Whether the directory exists and has any entry.</summary>
    public static bool HasEntries(string directory) =>
        Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any();

    /// <summary>
    /// Refuses <paramref name="directory"/> as the <paramref name="option"/> of a new output when it is a
    /// file or holds entries that are not <paramref name="kind"/>'s. Returns whether it already holds
    /// output of the kind (which the caller replaces only when asked, with <see cref="Clear"/>).
    /// </summary>
    public static bool CheckAvailable(string directory, OutputKind kind, string option)
    {
        if (File.Exists(directory)) throw new BadInputException($"{option} {directory}: is a file; {option} needs a directory");
        var foreign = ForeignEntries(directory, kind);
        if (foreign.Count > 0)
        {
            string shown = string.Join(", ", foreign.Take(5)) + (foreign.Count > 5 ? $" and {foreign.Count - 5} more" : "");
            throw new BadInputException($"{option} {directory}: holds files that are not an LlmForge {kind.Noun}'s ({shown}); choose a new or empty directory");
        }
        return HasEntries(directory);
    }

    /// <summary>
    /// Refuses, as <c>--overwrite</c> must, to replace <paramref name="directory"/> when it is a file, holds
    /// anything that is not <paramref name="kind"/>'s, is the current directory or one of its parents, or
    /// holds one of <paramref name="inputs"/> (option name, path). Deletes nothing.
    /// </summary>
    public static void RequireReplaceable(string directory, OutputKind kind, string option, IEnumerable<(string Option, string? Path)> inputs)
    {
        CheckAvailable(directory, kind, option);
        if (!Directory.Exists(directory)) return;
        string full = Full(directory);
        string current = Full(Environment.CurrentDirectory);
        if (IsSameOrInside(current, full))
            throw new BadInputException($"{option} {directory}: is the current directory or a parent of it; --overwrite never deletes it, choose a directory of its own");
        foreach (var (inputOption, path) in inputs)
        {
            if (string.IsNullOrEmpty(path) || !(File.Exists(path) || Directory.Exists(path))) continue;
            if (IsSameOrInside(Full(path), full))
                throw new BadInputException($"{option} {directory}: holds {inputOption} {path}; --overwrite would delete it, choose another {option}");
        }
    }

    /// <summary>
    /// Deletes the kind's entries from <paramref name="directory"/> (for <c>--overwrite</c>), keeping the
    /// directory itself and the names in <paramref name="keep"/>, once <see cref="RequireReplaceable"/> allows it.
    /// </summary>
    public static void Clear(string directory, OutputKind kind, string option, IEnumerable<(string Option, string? Path)> inputs, params string[] keep)
    {
        RequireReplaceable(directory, kind, option, inputs);
        if (!Directory.Exists(directory)) return;
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory).ToList())
        {
            if (keep.Contains(Path.GetFileName(entry))) continue;
            // A link is removed as a link, never followed.
            if (Directory.Exists(entry) && new DirectoryInfo(entry).LinkTarget == null) Directory.Delete(entry, recursive: true);
            else File.Delete(entry);
        }
    }

    static string Full(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    static bool IsSameOrInside(string path, string directory) =>
        path == directory || path.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal) || directory == Path.GetPathRoot(directory);
}
