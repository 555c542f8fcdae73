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
            Error(e.Message);
            return ExitBadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error(e.Message);
            return ExitFailure;
        }
        catch (Exception e)
        {
            Error($"unexpected failure: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("LLMFORGE_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitFailure;
        }
    }
}
