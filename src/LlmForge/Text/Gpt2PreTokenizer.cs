using System.Text.RegularExpressions;

namespace LlmForge.Text;

/// <summary>
/// GPT-2's pre-tokenisation: the text is cut into pieces before byte-pair merging, so that no token
/// spans a word boundary. The rule is the regular expression <see cref="Pattern"/>; <see cref="NextPieceEnd"/>
/// is the same rule written out by hand (about three times faster than the regex), and the tests
/// hold the two to identical pieces. Character classes are .NET's, on UTF-16 code units, as in
/// Microsoft.ML.Tokenizers.
/// </summary>
public static partial class Gpt2PreTokenizer
{
    public const string Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern)]
    public static partial Regex Regex();

    /// <summary>Where the piece that starts at <paramref name="start"/> ends (exclusive).</summary>
    public static int NextPieceEnd(ReadOnlySpan<char> text, int start)
    {
        int n = text.Length;
        char c = text[start];

        // 's 't 're 've 'm 'll 'd
        if (c == '\'' && start + 1 < n)
        {
            char c1 = text[start + 1];
            if (c1 is 's' or 't' or 'm' or 'd') return start + 2;
            if (start + 2 < n)
            {
                char c2 = text[start + 2];
                if ((c1 is 'r' or 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return start + 3;
            }
        }

        // An optional single space joins the letters, digits or symbols that follow it.
        int body = c == ' ' && start + 1 < n ? start + 1 : start;
        char b = text[body];
        if (char.IsLetter(b)) return RunEnd(text, body + 1, Kind.Letter);
        if (char.IsNumber(b)) return RunEnd(text, body + 1, Kind.Number);
        if (!char.IsWhiteSpace(b)) return RunEnd(text, body + 1, Kind.Other);

        // Whitespace: the whole run at the end of the text; otherwise all but its last character,
        // which goes with the word after it; a lone whitespace character stands alone.
        int end = RunEnd(text, start + 1, Kind.Space);
        if (end == n) return n;
        return end - 1 > start ? end - 1 : end;
    }

    /// <summary>All pieces, as (start, length).</summary>
    public static IEnumerable<(int Start, int Length)> Pieces(string text)
    {
        for (int i = 0; i < text.Length;)
        {
            int end = NextPieceEnd(text, i);
            yield return (i, end - i);
            i = end;
        }
    }

    enum Kind { Letter, Number, Other, Space }

    static int RunEnd(ReadOnlySpan<char> text, int i, Kind kind)
    {
        while (i < text.Length && Classify(text[i]) == kind) i++;
        return i;
    }

    static Kind Classify(char c)
    {
        if (char.IsLetter(c)) return Kind.Letter;
        if (char.IsNumber(c)) return Kind.Number;
        return char.IsWhiteSpace(c) ? Kind.Space : Kind.Other;
    }
}
