namespace LlmForge.Tests;

/// <summary>A test class's own temporary directory (<see cref="_dir"/>), made fresh for each test and deleted after it.</summary>
public abstract class ScratchDirectory(string prefix) : IDisposable
{
#pragma warning disable IDE1006 // the name the test classes have always used
    protected readonly string _dir = Directory.CreateTempSubdirectory(prefix).FullName;
#pragma warning restore IDE1006

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
