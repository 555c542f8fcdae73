namespace LlmForge.Benchmarks;

static class Paths
{
    public static readonly string RepoRoot = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlmForge.sln"))) return dir.FullName;
        throw new InvalidOperationException("LlmForge.sln not found");
    }
}
