using System.Diagnostics;
using System.Reflection;

namespace LlmForge.Tests;

/// <summary>Runs the real <c>llmforge</c> (the CLI project's build output) as a separate process.</summary>
static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    static readonly string CliDll = FindCli();

    /// <summary>The one JSON object a successful <c>--json</c> run prints.</summary>
    public static System.Text.Json.JsonElement Json(Result result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return System.Text.Json.JsonDocument.Parse(result.Stdout).RootElement;
    }

    /// <summary>Bad input as users must meet it: exit code 2 and one line naming <paramref name="expected"/>, nothing on stdout, no stack.</summary>
    public static void AssertBadInput(Result result, string expected)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    /// <summary>Starts llmforge without waiting; the caller reads, signals or kills it.</summary>
    public static Process Start(params string[] args) => Start(args, null);

    /// <summary>Starts llmforge with extra environment variables.</summary>
    public static Process Start(string[] args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (workingDirectory != null) start.WorkingDirectory = workingDirectory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.ArgumentList.Add(CliDll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start)!;
    }

    public static Result Run(params string[] args) => Run(args, null);

    /// <summary>Runs llmforge in <paramref name="workingDirectory"/>, as a user in that directory would.</summary>
    public static Result RunIn(string workingDirectory, params string[] args) => Run(args, null, workingDirectory);

    public static Result Run(string[] args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory = null)
    {
        using var process = Start(args, environment, workingDirectory);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("llmforge " + string.Join(' ', args) + " ran over 2 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    static string FindCli()
    {
        // The test project references the CLI project, so it is built beside us with the same configuration.
        string configuration = typeof(CliRunner).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        string dll = Path.Combine(TestPaths.RepoRoot, "src", "LlmForge.Cli", "bin", configuration, "net10.0", "LlmForge.Cli.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("the llmforge build output is missing", dll);
        return dll;
    }
}
