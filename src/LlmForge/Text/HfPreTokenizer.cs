using System.Text.RegularExpressions;

namespace LlmForge.Text;

/// <summary>
/// A Hugging Face pre-tokenizer made of <c>Split</c> steps (behaviour <c>Isolated</c>) and the final
/// <c>ByteLevel</c> step: each regular expression cuts every piece of the step before into its matches and
/// the text between them, so that no token spans a word, a number group or a run of spaces. Qwen2/Qwen3's
/// pattern takes digits one by one (<c>\p{N}</c>), Llama 3's in groups of up to three (<c>\p{N}{1,3}</c>).
/// Matching goes by code points (<see cref="CodePointRegex"/>); each piece is matched on its own, as its own
/// string, like the Rust implementation does.
/// </summary>
public sealed class HfPreTokenizer
{
    readonly Regex[] _steps;
    readonly Cl100kPieceScanner? _scanner;

    /// <param name="handWritten">whether a pattern <see cref="Cl100kPieceScanner"/> knows is run by it (the tests turn this off to compare).</param>
    public HfPreTokenizer(IReadOnlyList<string> patterns, bool handWritten = true)
    {
        _steps = patterns.Select(CodePointRegex.Get).ToArray();
        if (handWritten && patterns.Count == 1) _scanner = Cl100kPieceScanner.For(patterns[0]);
    }

    /// <summary>The hand-written form of the pattern, when there is one: the caller can then take pieces one by one.</summary>
    public Cl100kPieceScanner? Scanner => _scanner;

    /// <summary>Appends the pieces of <paramref name="text"/> as (start, length) in <paramref name="text"/>.</summary>
    public void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        if (_scanner != null)
        {
            for (int i = 0; i < text.Length;)
            {
                int end = _scanner.NextPieceEnd(text, i);
                pieces.Add((i, end - i));
                i = end;
            }
            return;
        }
        var standIns = CodePointRegex.StandIns(text, out int[]? starts);
        if (starts == null)
        {
            SplitStep(text, 0, 0, pieces);
            return;
        }
        int first = pieces.Count;
        SplitStep(standIns, 0, 0, pieces);
        for (int i = first; i < pieces.Count; i++)
        {
            var (start, length) = pieces[i];
            pieces[i] = (starts[start], starts[start + length] - starts[start]);
        }
    }

    void SplitStep(ReadOnlySpan<char> piece, int offset, int step, List<(int, int)> pieces)
    {
        if (piece.Length == 0) return;
        if (step == _steps.Length)
        {
            pieces.Add((offset, piece.Length));
            return;
        }
        int done = 0;
        foreach (var match in _steps[step].EnumerateMatches(piece))
        {
            if (match.Length == 0) continue; // an empty piece is dropped
            SplitStep(piece[done..match.Index], offset + done, step + 1, pieces);
            SplitStep(piece.Slice(match.Index, match.Length), offset + match.Index, step + 1, pieces);
            done = match.Index + match.Length;
        }
        SplitStep(piece[done..], offset + done, step + 1, pieces);
    }
}
