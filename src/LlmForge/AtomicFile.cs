namespace LlmForge;

/// <summary>Writes a file through a temporary beside it and a rename, so a reader never sees half of it.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static void WriteAllLines(string path, IEnumerable<string> lines)
    {
        File.WriteAllLines(path + ".tmp", lines);
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
