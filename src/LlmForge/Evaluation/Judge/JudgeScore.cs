using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmForge.Evaluation.Judge;

/// <summary>
/// The score in a judge's answer. Asked for "the integer number only", models still write "Score: 85", "85/100",
/// "**90**" or "On a scale from 0 to 100, I'd give it 85." The score is the first number once mentions of the
/// scale itself are set aside; it must be a whole number from 0 to 100, otherwise the answer has no score.
/// </summary>
public static partial class JudgeScore
{
    /// <summary>The score, or null when the answer holds no number or its first one is not a whole number from 0 to 100.</summary>
    public static int? Parse(string? answer)
    {
        if (string.IsNullOrEmpty(answer)) return null;
        string text = Scale().Replace(answer, " ");
        var match = Number().Match(text);
        if (!match.Success) return null;
        if (!decimal.TryParse(match.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
            return null; // too many digits for any score
        // "85.0" is 85; "87.5" or "-3" or "150" is not a score on the asked scale.
        return value == decimal.Truncate(value) && value >= 0 && value <= 100 ? (int)value : null;
    }

    /// <summary>What <see cref="Parse"/> found wanting, for the line an unscored entry gets.</summary>
    public static string Problem(string? answer) =>
        string.IsNullOrWhiteSpace(answer) ? "the answer is empty"
        : Number().IsMatch(Scale().Replace(answer, " ")) ? $"the answer's number is not a whole number from 0 to 100: {Quote(answer)}"
        : $"no number in the answer: {Quote(answer)}";

    /// <summary>The answer on one line, shortened, in quotes.</summary>
    static string Quote(string answer)
    {
        string line = Whitespace().Replace(answer.Trim(), " ");
        return "\"" + (line.Length > 80 ? line[..77] + "..." : line) + "\"";
    }

    // "0 to 100", "0-100", "0 – 100", "from 0 to 100": the question echoed, not a score.
    [GeneratedRegex(@"(?<![0-9.])0\s*(?:-|–|—|to)\s*100(?![0-9.])", RegexOptions.IgnoreCase)]
    private static partial Regex Scale();

    // A number standing on its own ("GPT4" holds none); a minus sign counts, so that "-5" is not read as 5.
    [GeneratedRegex(@"(?<![\p{L}0-9.])-?[0-9]+(?:\.[0-9]+)?(?![\p{L}0-9])")]
    private static partial Regex Number();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
