namespace LlmForge.Training;

/// <summary>
/// One writer per run: <c>RUN/.lock</c>, held open exclusively while a process trains in the run.
/// On Linux and macOS .NET takes an advisory <c>flock</c> for an exclusive open, which the kernel
/// releases when the process ends in any way, <c>kill -9</c> included, so a lock is never left stale.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = ".lock";

    readonly FileStream _stream;

    RunLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock of <paramref name="runDir"/> (creating the directory); another holder is bad input.</summary>
    public static RunLock Acquire(string runDir)
    {
        Directory.CreateDirectory(runDir);
        string path = Path.Combine(runDir, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new BadInputException($"{runDir}: another llmforge process is writing this run; wait for it to finish or stop it first");
        }
        // The holder's process id, for a person looking at the file.
        stream.SetLength(0);
        var pid = System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
        stream.Write(pid);
        stream.Flush();
        return new RunLock(stream);
    }

    public void Dispose() => _stream.Dispose();
}
