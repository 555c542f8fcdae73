using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmForge.Text;

/// <summary>
/// Runs a tokenizer's regular expression over code points, as Hugging Face's tokenizers (Oniguruma, on UTF-8)
/// and JavaScript's <c>u</c> flag do. .NET's engine works on UTF-16 code units: <c>\p{L}</c> does not match
/// 𝒜 (U+1D49C), which is two surrogates, and <c>[^\s\p{L}\p{N}]?</c> could take one half of an emoji. So a text
/// with surrogate pairs is matched through a stand-in string where each pair becomes one BMP character of
/// the same Unicode general category (the class a pattern's <c>\p{..}</c>, <c>\w</c>, <c>\d</c> and <c>\s</c>
/// test), and the matches are mapped back. The stand-ins are letters, marks and symbols that no tokenizer
/// pattern names literally; no astral character is whitespace, so none stands in for one.
/// Case-insensitive groups (<c>(?i:'s|'t)</c>) fold case as Oniguruma does (culture-invariant).
/// </summary>
public static class CodePointRegex
{
    static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    /// <summary>The compiled regex of <paramref name="pattern"/> (shared between tokenizers that use it).</summary>
    public static Regex Get(string pattern) =>
        Compiled.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled));

    /// <summary>Refuses a pattern .NET cannot parse, naming the file and key where it was found.</summary>
    public static void Check(string pattern, string path, string key)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw HfTokenizerJson.Bad(path, key, $"is not a regular expression this tokenizer can run ({e.Message.ReplaceLineEndings(" ")})");
        }
    }

    /// <summary>
    /// The text to match in place of <paramref name="text"/>: itself when it has no surrogates (null
    /// <paramref name="starts"/>), or one char per code point, with <paramref name="starts"/>[i] the index in
    /// <paramref name="text"/> where stand-in char i begins (one entry more, for the end).
    /// Lone surrogates must have been replaced before.
    /// </summary>
    public static ReadOnlySpan<char> StandIns(ReadOnlySpan<char> text, out int[]? starts)
    {
        starts = null;
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') < 0) return text;
        var chars = new char[text.Length];
        starts = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; n++)
        {
            starts[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                chars[n] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])));
                i += 2;
            }
            else
            {
                chars[n] = text[i++];
            }
        }
        starts[n] = text.Length;
        return chars.AsSpan(0, n);
    }

    /// <summary>A BMP character of <paramref name="category"/> (the tests check each).</summary>
    public static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => '\u0531',        // Armenian capital ayb
        UnicodeCategory.LowercaseLetter => '\u0561',        // Armenian small ayb
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',            // Hebrew alef
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',     // Arabic-Indic zero
        UnicodeCategory.LetterNumber => '\u16EE',           // runic arlaug
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.SpaceSeparator => '\u3000',
        UnicodeCategory.LineSeparator => '\u2028',
        UnicodeCategory.ParagraphSeparator => '\u2029',
        UnicodeCategory.Control => '\u0080',
        UnicodeCategory.Format => '\u00AD',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00B6',
        UnicodeCategory.MathSymbol => '\u00B1',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u02D8',
        UnicodeCategory.OtherSymbol => '\u00A9',
        _ => '\u0378',                                      // unassigned, as Cn
    };
}
