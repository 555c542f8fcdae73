using System.Text.RegularExpressions;

namespace LlmForge.Text;

/// <summary>
/// The book's first tokenizer (chapter 2): split on punctuation and whitespace, one id per word.
/// Version 1 knows only the words of the text its vocabulary came from and rejects any other;
/// version 2 adds <c>&lt;|endoftext|&gt;</c> and <c>&lt;|unk|&gt;</c> and maps unknown words to the latter.
/// </summary>
public sealed partial class SimpleTokenizer : ITokenizer
{
    public const string EndOfText = "<|endoftext|>";
    public const string Unknown = "<|unk|>";

    readonly Dictionary<string, int> _strToInt;
    readonly string[] _intToStr;
    readonly (string Text, int Id)[] _specials;

    public SimpleTokenizer(IReadOnlyList<string> vocabulary, int version = 2)
    {
        if (version is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(version), "version is 1 or 2");
        Version = version;
        _intToStr = vocabulary.ToArray();
        _strToInt = new Dictionary<string, int>(_intToStr.Length, StringComparer.Ordinal);
        for (int i = 0; i < _intToStr.Length; i++)
            if (!_strToInt.TryAdd(_intToStr[i], i))
                throw new TokenizerException($"vocabulary: word '{_intToStr[i]}' appears twice");
        if (version == 2 && !_strToInt.ContainsKey(Unknown))
            throw new TokenizerException($"vocabulary: version 2 needs the token {Unknown}");
        // Version 1 has no special tokens: a word written <|endoftext|> there is an ordinary word of the text.
        _specials = version == 1 ? [] : new[] { EndOfText, Unknown }
            .Where(_strToInt.ContainsKey).Select(text => (text, _strToInt[text])).OrderBy(s => s.Item2).ToArray();
    }

    /// <summary>The book's vocabulary: the sorted distinct words of <paramref name="text"/>, then (version 2) the two special tokens.</summary>
    public static SimpleTokenizer FromText(string text, int version = 2)
    {
        var words = Split(text).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (version == 2)
        {
            words.Remove(EndOfText);
            words.Remove(Unknown);
            words.Add(EndOfText);
            words.Add(Unknown);
        }
        return new SimpleTokenizer(words, version);
    }

    public int Version { get; }

    public string Name => "simple";

    public int VocabSize => _intToStr.Length;

    public IReadOnlyList<string> Vocabulary => _intToStr;

    /// <summary>Version 2's <c>&lt;|endoftext|&gt;</c> and <c>&lt;|unk|&gt;</c> (those its vocabulary has); none in version 1.</summary>
    public IReadOnlyList<(string Text, int Id)> SpecialTokens => _specials;

    /// <summary>The book's pre-processing: <c>re.split(r'([,.:;?_!"()\']|--|\s)', text)</c>, stripped, empties dropped.</summary>
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        foreach (string piece in SplitPattern().Split(text))
        {
            string word = piece.Trim();
            if (word.Length > 0) words.Add(word);
        }
        return words;
    }

    public int[] Encode(string text)
    {
        var words = Split(text);
        var ids = new int[words.Count];
        int unknown = Version == 2 ? _strToInt[Unknown] : -1;
        for (int i = 0; i < ids.Length; i++)
        {
            if (_strToInt.TryGetValue(words[i], out int id)) ids[i] = id;
            else if (Version == 2) ids[i] = unknown;
            else throw new TokenizerException($"the word '{words[i]}' (word {i + 1} of the text) is not in the vocabulary; version 2 maps unknown words to {Unknown}");
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => GluePunctuation(string.Join(" ", ids.Select(Word)));

    public StreamingDecoder NewStreamingDecoder() => new WordStreamingDecoder(this);

    internal string Word(int id) => id >= 0 && id < _intToStr.Length
        ? _intToStr[id]
        : throw new TokenizerException($"id {id} is outside the vocabulary of {_intToStr.Length} words");

    /// <summary>Words were split off their punctuation; glue the punctuation back as the book does (drop the whitespace before it).</summary>
    internal static string GluePunctuation(string joined) => SpaceBeforePunctuation().Replace(joined, "$1");

    [GeneratedRegex("""([,.:;?_!"()']|--|\s)""")]
    private static partial Regex SplitPattern();

    [GeneratedRegex("""\s+([,.?!"()'])""")]
    private static partial Regex SpaceBeforePunctuation();
}
