using System.Diagnostics;

namespace LlmForge.Tests;

/// <summary>
/// Runs a script of tests/clients (real clients of <c>llmforge serve</c>: the openai and ollama npm packages, a
/// headless Chromium) with node, from the repository root. Each script prints one JSON object on stdout.
/// </summary>
static class NodeScript
{
    public static string ClientsDir => Path.Combine(TestPaths.RepoRoot, "tests", "clients");

    /// <summary>Runs <c>node tests/clients/SCRIPT args</c>; fails the test (never skips it) when node or the packages are missing.</summary>
    public static CliRunner.Result Run(string script, params string[] args)
    {
        string modules = Path.Combine(ClientsDir, "node_modules");
        Assert.True(Directory.Exists(Path.Combine(modules, "openai")) && Directory.Exists(Path.Combine(modules, "ollama")) && Directory.Exists(Path.Combine(modules, "playwright-core")),
            $"{modules} is missing or incomplete: run `npm ci` in tests/clients (the test project's build does it when npm is on the PATH)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = TestPaths.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine("tests", "clients", script));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("node could not be started (Node.js 20 or later must be on the PATH): " + e.Message);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"node {script} ran over 2 minutes; stderr: {stderr.Result}");
            }
            return new CliRunner.Result(process.ExitCode, stdout.Result, stderr.Result);
        }
    }

    /// <summary>The one JSON object a script printed; a failed run fails the test with the script's error and the server's log.</summary>
    public static JsonElement Json(CliRunner.Result result, string serverOutput)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}\n--- server output ---\n{serverOutput}");
        return JsonDocument.Parse(result.Stdout).RootElement;
    }
}
