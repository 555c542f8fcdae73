using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace LlmForge.Tests;

/// <summary>
/// A real <c>llmforge serve</c> process on a free loopback port, as a user starts it. <see cref="Url"/> is read from
/// the line it prints once listening; <see cref="Output"/> holds what it printed (the request log) so far.
/// </summary>
sealed partial class ServerProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _stdout = new(), _stderr = new();
    readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    ServerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (_stdout) _stdout.AppendLine(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m) _listening.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null) lock (_stderr) _stderr.AppendLine(e.Data);
        };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"llmforge serve exited ({process.ExitCode}) before listening: {Errors}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>A client of this server that goes straight to it (never through a proxy from the environment).</summary>
    public HttpClient Http { get; private set; } = null!;

    public string Output { get { lock (_stdout) return _stdout.ToString(); } }
    public string Errors { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Starts <c>llmforge serve --port 0 ARGS</c> and waits until it listens.</summary>
    public static ServerProcess Start(params string[] args) => Start(args, null);

    public static ServerProcess Start(string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var server = new ServerProcess(CliRunner.Start(["serve", "--port", "0", .. args], environment));
        if (!server._listening.Task.Wait(TimeSpan.FromSeconds(90)))
        {
            server.Dispose();
            throw new TimeoutException("llmforge serve did not start listening within 90 s: " + server.Errors);
        }
        server.Url = server._listening.Task.Result;
        server.Http = NewClient(server.Url);
        return server;
    }

    /// <remarks>A response given up half-read closes its connection (no draining it for reuse), as a browser tab that is closed does.</remarks>
    public static HttpClient NewClient(Uri url) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxResponseDrainSize = 0 }) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>Ctrl-C as a terminal sends it (SIGINT); the exit code once it has stopped.</summary>
    public int Interrupt()
    {
        using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString()])) kill.WaitForExit();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30))) throw new TimeoutException("llmforge serve did not stop within 30 s of SIGINT");
        _process.WaitForExit(); // the output readers finish
        return _process.ExitCode;
    }

    /// <summary>Waits until the request log has a line that <paramref name="matches"/>, for what the server logs after answering.</summary>
    public string WaitForLog(Func<string, bool> matches, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(30)))
        {
            string? line = Output.Split('\n').FirstOrDefault(matches);
            if (line != null) return line.TrimEnd();
            Thread.Sleep(50);
        }
        throw new TimeoutException("no such line in the server's log:\n" + Output);
    }

    public void Dispose()
    {
        Http?.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningLine();
}
