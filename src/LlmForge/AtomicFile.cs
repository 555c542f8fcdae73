namespace LlmForge;

/// <summary>Writes a file through a temporary beside it and a rename, so a reader never sees half of it.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, temporary => File.WriteAllText(temporary, text));

    public static void WriteAllLines(string path, IEnumerable<string> lines) => Write(path, temporary => File.WriteAllLines(temporary, lines));

    static void Write(string path, Action<string> write)
    {
        string temporary = path + ".tmp";
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            // A full disk or a bad path: the old file stays, and no temporary is left beside it.
            File.Delete(temporary);
            throw;
        }
    }
}
