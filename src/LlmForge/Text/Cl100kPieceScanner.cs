using System.Globalization;
using System.Runtime.CompilerServices;

namespace LlmForge.Text;

/// <summary>
/// The pre-tokenizer pattern of OpenAI's cl100k_base (GPT-4), which Llama 3 uses as it is and Qwen2/Qwen3 with
/// digits taken one at a time, written out by hand over code points (about twice as fast as the regex,
/// as <see cref="Gpt2PreTokenizer.NextPieceEnd"/> is for GPT-2). The tests hold it to the regex, run by
/// <see cref="HfPreTokenizer"/>'s general path, on the shared texts, hard strings and random strings.
/// <code>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</code>
/// </summary>
public sealed class Cl100kPieceScanner
{
    const string Head = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|";
    const string Tail = @"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's pattern (cl100k_base's): digits in groups of up to three.</summary>
    public const string Llama3Pattern = Head + @"\p{N}{1,3}" + Tail;

    /// <summary>Qwen2's and Qwen3's pattern: each digit on its own.</summary>
    public const string Qwen2Pattern = Head + @"\p{N}" + Tail;

    readonly int _maxDigits;

    Cl100kPieceScanner(int maxDigits) => _maxDigits = maxDigits;

    /// <summary>The scanner for <paramref name="pattern"/> when it is one of the two above, else null.</summary>
    public static Cl100kPieceScanner? For(string pattern) => pattern switch
    {
        Llama3Pattern => new Cl100kPieceScanner(3),
        Qwen2Pattern => new Cl100kPieceScanner(1),
        _ => null,
    };

    enum Kind : byte { Letter, Number, Space, Other }

    /// <summary>Where the piece that starts at <paramref name="i"/> ends (exclusive).</summary>
    public int NextPieceEnd(ReadOnlySpan<char> text, int i)
    {
        int n = text.Length;
        char c = text[i];

        // 's 't 're 've 'm 'll 'd, in any case; ſ folds to s, as in Oniguruma (Hugging Face's tokenizers), though
        // not in .NET's regex nor in the JavaScript port.
        if (c == '\'' && i + 1 < n)
        {
            char c1 = (char)(text[i + 1] | 0x20);
            if (c1 is 's' or 't' or 'm' or 'd' || text[i + 1] == '\u017F') return i + 2;
            if (i + 2 < n)
            {
                char c2 = (char)(text[i + 2] | 0x20);
                if ((c1 is 'r' or 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return i + 3;
            }
        }

        var kind = Classify(text, i, out int width);
        int next = i + width;
        switch (kind)
        {
            case Kind.Letter:
                return RunEnd(text, next, Kind.Letter);
            case Kind.Number:
                for (int digits = 1; digits < _maxDigits && next < n && Classify(text, next, out int w) == Kind.Number; digits++) next += w;
                return next;
        }

        // [^\r\n\p{L}\p{N}]? before letters: one space, tab, mark or symbol joins the word after it.
        if (c is not ('\r' or '\n') && next < n && Classify(text, next, out _) == Kind.Letter)
            return RunEnd(text, next, Kind.Letter);

        // An optional space, then symbols and punctuation, then line breaks.
        if (kind == Kind.Other || (c == ' ' && next < n && Classify(text, next, out _) == Kind.Other))
        {
            int end = RunEnd(text, next, Kind.Other);
            while (end < n && text[end] is '\r' or '\n') end++;
            return end;
        }

        // Whitespace from here: [i, run) is the whole run.
        int run = RunEnd(text, next, Kind.Space);
        // \s*[\r\n]+ : up to and including the run's last line break.
        for (int k = run - 1; k >= i; k--)
            if (text[k] is '\r' or '\n') return k + 1;
        // \s+(?!\S) : all of it at the end of the text, else all but the last character (which goes with what follows).
        if (run == n || run - 1 == i) return run;
        return run - 1;
    }

    static int RunEnd(ReadOnlySpan<char> text, int i, Kind kind)
    {
        while (i < text.Length)
        {
            char c = text[i];
            if (c < 0x80)
            {
                // ASCII, most of most texts: no category lookup.
                if (AsciiKinds[c] != kind) break;
                i++;
            }
            else if (Classify(text, i, out int width) == kind)
            {
                i += width;
            }
            else
            {
                break;
            }
        }
        return i;
    }

    /// <summary>The class of the code point at <paramref name="i"/> and how many chars it takes (2 for a surrogate pair).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Kind Classify(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        width = 1;
        if (c < 0x80) return AsciiKinds[c];
        return ClassifyNonAscii(text, i, c, ref width);
    }

    static Kind ClassifyNonAscii(ReadOnlySpan<char> text, int i, char c, ref int width)
    {
        UnicodeCategory category;
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            width = 2;
            category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[i + 1]));
        }
        else
        {
            if (char.IsWhiteSpace(c)) return Kind.Space;
            category = CharUnicodeInfo.GetUnicodeCategory(c);
        }
        return category switch
        {
            <= UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }

    static readonly Kind[] AsciiKinds = BuildAscii();

    static Kind[] BuildAscii()
    {
        var kinds = new Kind[128];
        for (int c = 0; c < 128; c++)
            kinds[c] = char.IsLetter((char)c) ? Kind.Letter : char.IsDigit((char)c) ? Kind.Number
                : char.IsWhiteSpace((char)c) ? Kind.Space : Kind.Other;
        return kinds;
    }
}
