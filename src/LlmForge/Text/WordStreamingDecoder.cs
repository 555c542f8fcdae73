namespace LlmForge.Text;

/// <summary>
/// Streams <see cref="SimpleTokenizer"/>'s output. Its decode joins words with spaces and then removes the
/// whitespace before punctuation, so a trailing run of whitespace is held back until the next word shows
/// whether it stays. The removal only ever spans such a run and the character after it, so gluing the held
/// run and the new word alone gives what gluing the whole text would.
/// </summary>
sealed class WordStreamingDecoder(SimpleTokenizer tokenizer) : StreamingDecoder
{
    string _held = "";
    bool _started;

    public override string Add(int id)
    {
        string word = tokenizer.Word(id);
        string text = SimpleTokenizer.GluePunctuation(_held + (_started ? " " : "") + word);
        _started = true;
        int end = text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1])) end--;
        _held = text[end..];
        return text[..end];
    }

    public override string Finish()
    {
        string rest = _held;
        _held = "";
        return rest;
    }
}
