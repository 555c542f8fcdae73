using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>
/// The temporary an export is written into, beside its output: <c>.tmp-export-PID-GUID</c>, a directory for the
/// Hugging Face layout and a file for GGUF.
/// The owner's process id in the name lets a later export remove the temporaries that a killed one
/// left behind, and only those: a temporary whose process still runs belongs to an export in progress.
/// </summary>
public static partial class ExportTemporary
{
    [GeneratedRegex(@"^\.tmp-export-(\d+)-[0-9a-f]{32}$")]
    private static partial Regex OwnName();

    /// <summary>A new temporary's path in <paramref name="parent"/> (not created yet).</summary>
    public static string NewPath(string parent) => Path.Combine(parent, $".tmp-export-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>Removes the temporaries in <paramref name="parent"/> whose owning process is gone; returns their names.</summary>
    public static List<string> RemoveStale(string parent)
    {
        var removed = new List<string>();
        if (!Directory.Exists(parent)) return removed;
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent, ".tmp-export-*"))
        {
            var match = OwnName().Match(Path.GetFileName(entry));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out int pid)) continue;
            FileSystemInfo info = Directory.Exists(entry) ? new DirectoryInfo(entry) : new FileInfo(entry);
            if (info.LinkTarget != null || OwnerRuns(pid, info.LastWriteTimeUtc)) continue;
            try
            {
                if (info is DirectoryInfo) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
                removed.Add(info.Name);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another export removing it at the same time, or not ours to remove: leave it.
            }
        }
        return removed;
    }

    /// <summary>
    /// Whether process <paramref name="pid"/> may own a temporary last written at <paramref name="lastWriteUtc"/>:
    /// it runs, and started before that (a process started later has only been given a reused id).
    /// </summary>
    static bool OwnerRuns(int pid, DateTime lastWriteUtc)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            // Start times are read with about a second's precision: keep the temporary when in doubt.
            return process.StartTime.ToUniversalTime() <= lastWriteUtc.AddSeconds(5);
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return true; // it exists but cannot be inspected: assume it is the owner
        }
    }
}
