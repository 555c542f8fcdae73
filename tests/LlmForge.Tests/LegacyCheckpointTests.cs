namespace LlmForge.Tests;

/// <summary>
/// A checkpoint written by LlmForge before the model contract (issue 10): its config.json names no
/// architecture. It must keep loading as GPT-2 and giving the ids it gave when it was written
/// (tiny model, a 300-token trained tokenizer carried inside, 3 training steps, seed 7).
/// </summary>
public sealed class LegacyCheckpointTests
{
    static readonly string Legacy = Path.Combine(TestPaths.RepoRoot, "tests", "LlmForge.Tests", "legacy-checkpoint");

    [Fact]
    public void ACheckpointWithoutAnArchitectureKeyLoadsAsGpt2AndGeneratesAsBefore()
    {
        var generated = CliRunner.Json(CliRunner.Run("generate", "--model", Legacy, "--prompt", "Every effort", "--max-new-tokens", "5", "--json"));
        int[] ids = generated.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal([69, 118, 282, 121, 32, 101, 102, 102, 292, 116, 127, 83, 263, 193, 70], ids);
        using var loaded = ModelLoader.Load(Legacy);
        Assert.Equal(300, loaded.Tokenizer.VocabSize);
        Assert.Equal(8, loaded.Config.EmbDim);
    }
}
