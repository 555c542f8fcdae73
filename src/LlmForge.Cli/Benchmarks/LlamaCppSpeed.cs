using System.Diagnostics;
using System.Text.Json;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What llama.cpp measured on the same model (the <c>llama_cpp</c> part of <c>bench generate --compare-llama-cpp</c>).</summary>
public sealed record LlamaCppSpeedResult(string GgufType, double TokensPerSecond, double FirstTokenSeconds);

/// <summary>
/// The reference for CPU inference: the benchmark's own model exported to GGUF and decoded greedily by llama.cpp, as
/// node-llama-cpp ships it prebuilt (run by <c>tests/clients/llama-cpp.mjs</c> of the repository, after <c>npm ci</c>
/// there), with the same prompt ids, number of new tokens and threads.
/// </summary>
public static class LlamaCppSpeed
{
    /// <summary>The script, found from the current directory or the program's up to the repository root.</summary>
    public static string FindScript()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string script = Path.Combine(dir.FullName, "tests", "clients", "llama-cpp.mjs");
                if (File.Exists(script) && Directory.Exists(Path.Combine(dir.FullName, "tests", "clients", "node_modules", "node-llama-cpp")))
                    return script;
            }
        throw new BadInputException("--compare-llama-cpp: llama.cpp is run through node-llama-cpp from LlmForge's repository; run `npm ci` in tests/clients there and start the benchmark inside the repository");
    }

    public static LlamaCppSpeedResult Run(string script, string gguf, GgmlType type, IReadOnlyList<int> prompt, int newTokens, int threads)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { script, "speed", gguf, string.Join(",", prompt), newTokens.ToString(), threads.ToString() }) start.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BadInputException($"--compare-llama-cpp: node could not be started ({e.Message}); Node.js 20 or later must be on the PATH");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"llama.cpp (node {Path.GetFileName(script)}) failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
            var json = JsonDocument.Parse(stdout).RootElement;
            return new LlamaCppSpeedResult(GgmlTypes.Name(type), json.GetProperty("tokens_per_second").GetDouble(), json.GetProperty("first_token_seconds").GetDouble());
        }
    }
}
