using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace LlmForge.Cli;

/// <summary>
/// The one line a command line that does not parse gets. System.CommandLine reports every problem it finds, in its
/// own words; the user is best served by the one that most likely caused the rest, named by option or command.
/// </summary>
static partial class UsageError
{
    public static string Describe(ParseResult parsed)
    {
        // A stray word comes first: a misspelt option or command also makes the options after it look missing.
        if (parsed.UnmatchedTokens.Count > 0) return Unmatched(parsed, parsed.UnmatchedTokens[0]);

        var first = parsed.Errors.OrderBy(Rank).First();
        return first.SymbolResult switch
        {
            OptionResult { Implicit: true, Option.Required: true } missing => $"{missing.Option.Name} is required",
            OptionResult { Tokens.Count: 0 } empty => $"{empty.Option.Name} needs a value",
            OptionResult { Tokens.Count: > 1 } repeated when repeated.Option.Arity.MaximumNumberOfValues == 1
                => $"{repeated.Option.Name} is given {repeated.Tokens.Count} times; give it once",
            CommandResult { Command.Subcommands.Count: > 0 } command when command.Command.Action == null => MissingCommand(command.Command),
            _ => Plain(first.Message),
        };
    }

    // Bad values the user gave before options left out, before anything else.
    static int Rank(ParseError error) => error.SymbolResult switch
    {
        OptionResult { Implicit: false } => 0,
        OptionResult => 1,
        _ => 2,
    };

    static string Unmatched(ParseResult parsed, string token)
    {
        var command = parsed.CommandResult.Command;
        string path = Path(command);
        string under = command.Parents.Any() ? $" for '{path}'" : "";
        if (token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]))
            return $"unknown option '{token}'{under} (see '{path} --help')";
        if (command.Subcommands.Count > 0)
            return $"unknown command '{token}'{under} (one of: {Names(command)})";
        if (FlagBefore(parsed, token) is { } flag)
            return $"{flag}: '{token}' is not true or false";
        return $"unexpected argument '{token}' for '{path}' (a value with spaces needs quotes)";
    }

    /// <summary>The on/off option just before <paramref name="token"/>, when there is one: <c>--stream maybe</c>.</summary>
    static string? FlagBefore(ParseResult parsed, string token)
    {
        var tokens = parsed.Tokens;
        for (int i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Value != token || tokens[i - 1].Type != TokenType.Option) continue;
            var option = parsed.CommandResult.Command.Options.FirstOrDefault(o => o.Name == tokens[i - 1].Value || o.Aliases.Contains(tokens[i - 1].Value));
            if (option?.ValueType == typeof(bool)) return option.Name;
        }
        return null;
    }

    static string MissingCommand(Command command) => command.Parents.Any()
        ? $"'{Path(command)}' needs a command (one of: {Names(command)})"
        : $"no command given (one of: {Names(command)}; see 'llmforge --help')";

    static string Names(Command command) => string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));

    // "llmforge tokenizer train": the command's own name after its parents'.
    static string Path(Command command) => command.Parents.OfType<Command>().FirstOrDefault() is { } parent
        ? Path(parent) + " " + command.Name
        : command.Name;

    /// <summary>A message of the parser's or a validator's, without .NET type names or a closing full stop.</summary>
    static string Plain(string message) => Cli.OneLine(TypeName().Replace(message, "")).TrimEnd('.');

    [GeneratedRegex(@" as expected type '[^']*'")]
    private static partial Regex TypeName();
}
