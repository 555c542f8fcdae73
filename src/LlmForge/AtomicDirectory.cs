namespace LlmForge;

/// <summary>
/// Writes a directory through a temporary one beside it and a rename, so that a reader (or a kill at
/// any instant) sees the old directory or the new one, never half of one.
/// </summary>
public static class AtomicDirectory
{
    /// <summary>
    /// Writes <paramref name="directory"/> whole, replacing one already there: <paramref name="write"/>
    /// fills <c>.tmp-NAME-GUID</c> beside it, which is then renamed into place (an old copy is first
    /// renamed aside to <c>.old-NAME-GUID</c>, and deleted last). Returns the directory's full path.
    /// </summary>
    public static string Write(string directory, Action<string> write)
    {
        directory = Path.GetFullPath(directory);
        string parent = Path.GetDirectoryName(directory)!;
        Directory.CreateDirectory(parent);
        string temporary = Path.Combine(parent, $".tmp-{Path.GetFileName(directory)}-{Guid.NewGuid():N}");
        Write(temporary, write, moveIntoPlace: filled => Replace(filled, directory));
        return directory;
    }

    /// <summary>
    /// Creates <paramref name="temporary"/> (when it is not there yet), fills it with <paramref name="write"/>
    /// and hands it to <paramref name="moveIntoPlace"/>; whatever it leaves of the temporary, or a failure
    /// leaves, is deleted, so no half-written temporary outlives the call.
    /// </summary>
    /// <remarks>For callers whose temporaries or moves follow rules of their own (an export's).</remarks>
    public static void Write(string temporary, Action<string> write, Action<string> moveIntoPlace)
    {
        Directory.CreateDirectory(temporary);
        try
        {
            write(temporary);
            moveIntoPlace(temporary);
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
    }

    /// <summary>
    /// Puts the filled <paramref name="temporary"/> in place of <paramref name="directory"/>: any old copy
    /// is renamed aside, the new one renamed in, then the old one deleted.
    /// </summary>
    static void Replace(string temporary, string directory)
    {
        string? old = null;
        if (Directory.Exists(directory))
        {
            old = Path.Combine(Path.GetDirectoryName(directory)!, $".old-{Path.GetFileName(directory)}-{Guid.NewGuid():N}");
            Directory.Move(directory, old);
        }
        Directory.Move(temporary, directory);
        if (old != null) Directory.Delete(old, recursive: true);
    }
}
