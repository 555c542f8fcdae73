namespace LlmForge.Tests;

/// <summary>The one "write a temporary directory, then rename it into place" helper, and the direction of the library's dependencies.</summary>
public sealed class AtomicDirectoryTests() : ScratchDirectory("llmforge-atomicdir")
{
    [Fact]
    public void AWriteReplacesTheOldDirectoryWholeAndLeavesNoTemporary()
    {
        string target = Path.Combine(_dir, "step-000001");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "old.txt"), "old");

        string written = AtomicDirectory.Write(target, temporary =>
        {
            // Filled beside the target under the name a run's clean-up recognises, never in it.
            Assert.StartsWith(".tmp-step-000001-", Path.GetFileName(temporary));
            Assert.Equal(_dir, Path.GetDirectoryName(temporary));
            Assert.True(File.Exists(Path.Combine(target, "old.txt")));
            File.WriteAllText(Path.Combine(temporary, "new.txt"), "new");
        });

        Assert.Equal(Path.GetFullPath(target), written);
        Assert.Equal(["new.txt"], Directory.EnumerateFiles(target).Select(Path.GetFileName));
        Assert.Equal(["step-000001"], Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedWriteKeepsTheOldDirectoryAndLeavesNoTemporary()
    {
        string target = Path.Combine(_dir, "model");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "old.txt"), "old");

        Assert.Throws<IOException>(() => AtomicDirectory.Write(target, temporary =>
        {
            File.WriteAllText(Path.Combine(temporary, "half.txt"), "half");
            throw new IOException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "old.txt")));
        Assert.Equal(["old.txt"], Directory.EnumerateFiles(target).Select(Path.GetFileName));
        Assert.Equal(["model"], Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedMoveIntoPlaceLeavesNoTemporary()
    {
        string temporary = Path.Combine(_dir, ".tmp-export-1-x");
        Assert.Throws<IOException>(() => AtomicDirectory.Write(temporary,
            filled => File.WriteAllText(Path.Combine(filled, "model.safetensors"), "weights"),
            moveIntoPlace: _ => throw new IOException("--out changed meanwhile")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    /// <summary>File formats (Interop) are used by training, never the reverse: no Interop source names the Training namespace.</summary>
    [Fact]
    public void InteropDoesNotUseTraining()
    {
        string interop = Path.Combine(TestPaths.RepoRoot, "src", "LlmForge", "Interop");
        var offenders = Directory.EnumerateFiles(interop, "*.cs", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("LlmForge.Training", StringComparison.Ordinal))
            .Select(Path.GetFileName);
        Assert.Empty(offenders);
        Assert.Equal("LlmForge.Interop", typeof(LlmForge.Interop.Checkpoint).Namespace);
    }
}
