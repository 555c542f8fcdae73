namespace LlmForge.Tests;

/// <summary>What every refused input must look like: exit 2 and one line naming the culprit, no .NET exception.</summary>
static class BadInputAssert
{
    public static void OneLine(CliRunner.Result result, params string[] fragments)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}");
        string line = result.Stderr.TrimEnd('\n');
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("llmforge: ", line);
        Assert.DoesNotContain("Exception", line);
        Assert.DoesNotContain("System.", line);
        foreach (var fragment in fragments) Assert.Contains(fragment, line);
    }
}
