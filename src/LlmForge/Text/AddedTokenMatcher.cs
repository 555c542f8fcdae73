using System.Buffers;

namespace LlmForge.Text;

/// <summary>
/// Finds a tokenizer's added tokens (<c>&lt;|im_start|&gt;</c>, <c>&lt;|eot_id|&gt;</c>, <c>&lt;think&gt;</c>, ...) in a text
/// before it is normalized and pre-tokenized, as Hugging Face's tokenizers do: the leftmost occurrence of any,
/// the longest of those that start there. A token with <c>lstrip</c>/<c>rstrip</c> also takes the whitespace on
/// that side, which then belongs to no other piece.
/// </summary>
sealed class AddedTokenMatcher
{
    readonly SearchValues<string>? _search;
    // Candidates by first character, longest first: the first one that matches at a place is the longest there.
    readonly Dictionary<char, HfAddedToken[]> _byFirst;

    public AddedTokenMatcher(IEnumerable<HfAddedToken> tokens)
    {
        var list = tokens.ToList();
        _byFirst = list.GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        if (list.Count > 0) _search = SearchValues.Create(list.Select(t => t.Content).Distinct().ToArray(), StringComparison.Ordinal);
    }

    public bool IsEmpty => _search == null;

    /// <summary>
    /// The first added token in <paramref name="text"/> at or after <paramref name="start"/>: its id, and the span it
    /// takes (<paramref name="from"/> to <paramref name="to"/>, stripped whitespace included); false when there is none.
    /// </summary>
    public bool TryFind(ReadOnlySpan<char> text, int start, out int from, out int to, out int id)
    {
        (from, to, id) = (0, 0, -1);
        if (_search == null || start >= text.Length) return false;
        int found = text[start..].IndexOfAny(_search);
        if (found < 0) return false;
        int at = start + found;
        var rest = text[at..];
        foreach (var token in _byFirst[text[at]])
        {
            if (!rest.StartsWith(token.Content, StringComparison.Ordinal)) continue;
            (from, to, id) = (at, at + token.Content.Length, token.Id);
            if (token.LStrip)
                while (from > start && char.IsWhiteSpace(text[from - 1])) from--;
            if (token.RStrip)
                while (to < text.Length && char.IsWhiteSpace(text[to])) to++;
            return true;
        }
        throw new InvalidOperationException("the search found an added token that no candidate matches");
    }
}
