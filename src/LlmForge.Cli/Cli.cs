using System.Text.Encodings.Web;
using System.Text.Json;
using LlmForge;

namespace LlmForge.Cli;

/// <summary>What every command shares: exit codes, one-line errors on stderr, and <c>--json</c> output.</summary>
static class Cli
{
    public const int ExitOk = 0, ExitFailure = 1, ExitBadInput = 2;

    static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Error(string message) => Console.Error.WriteLine($"llmforge: {message}");

    public static void Warn(string message) => Console.Error.WriteLine($"llmforge: warning: {message}");

    /// <summary>Prints exactly one JSON object on stdout.</summary>
    public static void WriteJson(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Runs a command body: bad input becomes one line and exit code 2, any other failure exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (BadInputException e)
        {
            Error(OneLine(e.Message));
            return ExitBadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error(OneLine(e.Message));
            return ExitFailure;
        }
        catch (Exception e)
        {
            Error(Unexpected(e));
            if (Environment.GetEnvironmentVariable("LLMFORGE_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitFailure;
        }
    }

    /// <summary>
    /// The line a failure nobody foresaw gets: its message's first line, without the exception's type. libtorch's
    /// errors (out of memory among them) carry the C++ stack after a one-line summary; LLMFORGE_DEBUG=1 shows it all.
    /// </summary>
    public static string Unexpected(Exception e)
    {
        string summary = OneLine(e.Message);
        return summary.Length > 0
            ? $"unexpected failure: {summary} (LLMFORGE_DEBUG=1 shows the details)"
            : "unexpected failure (LLMFORGE_DEBUG=1 shows the details)";
    }

    /// <summary>The first line of <paramref name="message"/> that says something.</summary>
    public static string OneLine(string message) =>
        message.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0) ?? "";
}
