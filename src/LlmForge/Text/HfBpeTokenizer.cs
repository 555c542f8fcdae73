using System.Buffers;
using System.Text;

namespace LlmForge.Text;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> byte-level BPE tokenizer (Qwen2/Qwen3, Llama 3, GPT-2's own file),
/// written from scratch like <see cref="Gpt2Tokenizer"/> and sharing its merging: added tokens are cut out
/// of the text first, each text between them is normalized (NFC for Qwen) and cut into pieces by the file's
/// pre-tokenizer regex (<see cref="HfPreTokenizer"/>), and each piece's UTF-8 bytes are merged by rank
/// (<see cref="BytePairMerge"/>). <see cref="Encode(string)"/> gives the ids of the text alone;
/// <see cref="Encode(string, bool)"/> with true adds what the post-processor and tokenizer_config.json ask
/// for (a BOS id), as <c>tokenizer.encode(text)</c> does in transformers.
/// <para>
/// Text that is not valid UTF-16 (a lone surrogate) is encoded as U+FFFD, as JavaScript's TextEncoder does;
/// Rust's tokenizers cannot be given such text at all.
/// </para>
/// </summary>
public sealed class HfBpeTokenizer : IBundledTokenizer, IByteLevelVocabulary
{
    /// <summary>Tokens that end a text or a turn in the families this reads; generation stops at those present.</summary>
    static readonly string[] EndTokens = ["<|endoftext|>", "<|im_end|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>"];

    readonly byte[][] _tokenBytes;
    readonly int[] _byteIds = new int[256];
    readonly Dictionary<long, (int Rank, int Id)> _merges;
    readonly Dictionary<string, int>? _wholeTokens; // ignore_merges: a piece that is a token is taken whole
    readonly AddedTokenMatcher _rawAdded, _normalizedAdded;
    readonly NormalizationForm[] _normalizers;
    readonly HfPreTokenizer _preTokenizer;
    readonly (string Text, int Id)[] _specials;
    readonly PieceCache _cache = new();

    HfBpeTokenizer(HfTokenizerJson json, string name)
    {
        Name = name;
        Path = json.Path;
        ChatTemplateSource = json.ChatTemplate;
        string path = json.Path;
        int size = Math.Max(json.Vocab.Values.Max(), json.AddedTokens.Count == 0 ? 0 : json.AddedTokens.Max(a => a.Id)) + 1;
        _tokenBytes = new byte[size][];
        foreach (var a in json.AddedTokens) _tokenBytes[a.Id] = Encoding.UTF8.GetBytes(a.Content);
        foreach (var (token, id) in json.Vocab)
        {
            if (_tokenBytes[id] != null) continue; // an added token of the same id decodes as its text
            _tokenBytes[id] = ByteLevel.ToBytes(token)
                ?? throw HfTokenizerJson.Bad(path, "model.vocab", $"token '{token}' is not written in the byte-level alphabet");
        }
        for (int b = 0; b < 256; b++)
            _byteIds[b] = json.Vocab.TryGetValue(ByteLevel.ToUnicode([(byte)b]), out int id) ? id
                : throw HfTokenizerJson.Bad(path, "model.vocab", $"has no token for byte 0x{b:X2}; a byte-level vocabulary needs all 256");

        int gap = Array.FindIndex(_tokenBytes, b => b == null);
        if (gap >= 0) throw HfTokenizerJson.Bad(path, "model.vocab", $"has no token with id {gap}; ids must run from 0 without gaps");

        // Of two merges of the same pair the later stands, as in the Rust and JavaScript implementations.
        _merges = new Dictionary<long, (int, int)>(json.Merges.Count, TokenPair.Comparer);
        for (int rank = 0; rank < json.Merges.Count; rank++)
        {
            var (left, right) = json.Merges[rank];
            _merges[TokenPair.Pack(json.Vocab[left], json.Vocab[right])] = (rank, json.Vocab[left + right]);
        }
        if (json.IgnoreMerges) _wholeTokens = json.Vocab;

        _rawAdded = new AddedTokenMatcher(json.AddedTokens.Where(a => !a.Normalized || json.Normalizers.Count == 0));
        _normalizedAdded = new AddedTokenMatcher(json.AddedTokens.Where(a => a.Normalized && json.Normalizers.Count > 0));
        _normalizers = json.Normalizers.ToArray();
        _preTokenizer = new HfPreTokenizer(json.SplitPatterns);
        _specials = json.AddedTokens.OrderBy(a => a.Id).Select(a => (a.Content, a.Id)).ToArray();
        PrefixIds = json.PrefixIds;
        SuffixIds = json.SuffixIds;
        foreach (int id in PrefixIds.Concat(SuffixIds))
            if (id >= size) throw HfTokenizerJson.Bad(path, "post_processor", $"names id {id}, outside the vocabulary of {size}");

        string configName = json.ConfigPath ?? "tokenizer_config.json";
        int? Resolve(string? token, string key) => token == null ? null
            : HfTokenizerJson.IdOf(token, json.Vocab, json.AddedTokens) ?? throw HfTokenizerJson.Bad(configName, key, $"'{token}' is not a token of {path}");
        BosId = Resolve(json.BosToken, "bos_token");
        EndOfTextId = Resolve(json.EosToken, "eos_token")
            ?? _specials.Where(s => s.Text is "<|endoftext|>" or "<|end_of_text|>").Select(s => (int?)s.Id).FirstOrDefault();
        PadId = Resolve(json.PadToken, "pad_token") ?? EndOfTextId;
        var stops = new List<int>();
        if (EndOfTextId is int eos) stops.Add(eos);
        foreach (var (text, id) in _specials)
            if (EndTokens.Contains(text) && !stops.Contains(id)) stops.Add(id);
        StopIds = stops;
    }

    public string Name { get; }

    /// <summary>The tokenizer.json this was read from.</summary>
    public string Path { get; }

    public int VocabSize => _tokenBytes.Length;

    /// <summary>Every added token (special or not, such as <c>&lt;think&gt;</c>), by id: each is matched in a text before anything else.</summary>
    public IReadOnlyList<(string Text, int Id)> SpecialTokens => _specials;

    /// <summary>
    /// The model's end token: tokenizer_config.json's <c>eos_token</c> (Qwen3's instruct files: <c>&lt;|im_end|&gt;</c>;
    /// Qwen3 base: <c>&lt;|endoftext|&gt;</c>; Llama 3 base: <c>&lt;|end_of_text|&gt;</c>; Llama 3 instruct:
    /// <c>&lt;|eot_id|&gt;</c>); without that file, <c>&lt;|endoftext|&gt;</c> or <c>&lt;|end_of_text|&gt;</c> when present.
    /// </summary>
    public int? EndOfTextId { get; }

    /// <summary>tokenizer_config.json's <c>pad_token</c>, else the end token (as transformers.js does).</summary>
    public int? PadId { get; }

    /// <summary>tokenizer_config.json's <c>bos_token</c> (Llama 3: <c>&lt;|begin_of_text|&gt;</c>; Qwen has none).</summary>
    public int? BosId { get; }

    /// <summary>The end token and every end-of-text or end-of-turn token of the vocabulary: where generation stops.</summary>
    public IReadOnlyList<int> StopIds { get; }

    /// <summary>Ids put before and after a text by <see cref="Encode(string, bool)"/> (the post-processor's template, add_bos_token).</summary>
    public IReadOnlyList<int> PrefixIds { get; }
    public IReadOnlyList<int> SuffixIds { get; }

    /// <summary>The Jinja chat template of tokenizer_config.json or chat_template.jinja; null when none.</summary>
    public string? ChatTemplateSource { get; }

    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    // ---- loading ----------------------------------------------------------------------------

    /// <summary>Loads a directory holding tokenizer.json (and tokenizer_config.json), or a tokenizer.json file.</summary>
    public static HfBpeTokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? System.IO.Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file)) throw new BadInputException($"{path}: no tokenizer.json there");
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!;
        return new HfBpeTokenizer(HfTokenizerJson.Read(file), System.IO.Path.GetFileName(directory));
    }

    /// <summary>Copies the files it was read from (tokenizer.json, and tokenizer_config.json and chat_template.jinja when present).</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        string from = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        File.Copy(Path, System.IO.Path.Combine(directory, "tokenizer.json"), overwrite: true);
        foreach (string file in new[] { "tokenizer_config.json", "chat_template.jinja" })
            if (File.Exists(System.IO.Path.Combine(from, file))) File.Copy(System.IO.Path.Combine(from, file), System.IO.Path.Combine(directory, file), overwrite: true);
    }

    // ---- encoding ---------------------------------------------------------------------------

    /// <summary>The ids of <paramref name="text"/> alone; added tokens written in it become their ids. No BOS.</summary>
    public int[] Encode(string text) => Encode(text, addSpecialTokens: false);

    /// <summary>
    /// The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/>, between <see cref="PrefixIds"/>
    /// and <see cref="SuffixIds"/> (what transformers' <c>encode</c> gives by default).
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens)
    {
        string clean = WithoutLoneSurrogates(text);
        var ids = new List<int>(clean.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(PrefixIds);
        var pieces = new List<(int, int)>();
        for (int start = 0; ;)
        {
            bool found = _rawAdded.TryFind(clean, start, out int from, out int to, out int id);
            EncodeSection(clean.AsSpan(start, (found ? from : clean.Length) - start), ids, pieces);
            if (!found) break;
            ids.Add(id);
            start = to;
        }
        if (addSpecialTokens) ids.AddRange(SuffixIds);
        return ids.ToArray();
    }

    /// <summary>Text between two added tokens: normalized, then cut again at added tokens that match normalized text.</summary>
    void EncodeSection(ReadOnlySpan<char> section, List<int> ids, List<(int, int)> pieces)
    {
        if (section.IsEmpty) return;
        string? normalized = null;
        foreach (var form in _normalizers)
        {
            var current = normalized != null ? normalized.AsSpan() : section;
            if (!current.IsNormalized(form)) normalized = (normalized ?? section.ToString()).Normalize(form);
        }
        var text = normalized != null ? normalized.AsSpan() : section;
        for (int start = 0; ;)
        {
            bool found = _normalizedAdded.TryFind(text, start, out int from, out int to, out int id);
            EncodeWords(text[start..(found ? from : text.Length)], ids, pieces);
            if (!found) break;
            ids.Add(id);
            start = to;
        }
    }

    void EncodeWords(ReadOnlySpan<char> text, List<int> ids, List<(int Start, int Length)> pieces)
    {
        if (text.IsEmpty) return;
        if (_preTokenizer.Scanner is { } scanner)
        {
            // The common case (Qwen, Llama 3): pieces are taken as they are found, without a list.
            for (int i = 0; i < text.Length;)
            {
                int end = scanner.NextPieceEnd(text, i);
                EncodePiece(text[i..end], ids);
                i = end;
            }
            return;
        }
        pieces.Clear();
        _preTokenizer.Split(text, pieces);
        foreach (var (start, length) in pieces) EncodePiece(text.Slice(start, length), ids);
    }

    void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        // One ASCII character (punctuation, a line break) is one byte, whose token needs no lookup.
        if (piece.Length == 1 && piece[0] < 0x80)
        {
            ids.Add(_byteIds[piece[0]]);
            return;
        }
        bool cacheable = piece.Length <= PieceCache.MaxPieceLength;
        if (cacheable && _cache.TryAppend(piece, ids)) return;
        int[] pieceIds = MergePiece(piece);
        ids.AddRange(pieceIds);
        if (cacheable) _cache.Add(piece, pieceIds);
    }

    int[] MergePiece(ReadOnlySpan<char> piece)
    {
        if (piece.Length > Array.MaxLength / 3)
            throw new TokenizerException($"a run of {piece.Length} characters without a break is too long to encode (at most {Array.MaxLength / 3})");
        int maxBytes = 3 * piece.Length;
        byte[]? rented = maxBytes > 512 ? ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> bytes = rented != null ? rented : stackalloc byte[maxBytes];
        int n = Wtf8.GetBytes(piece, bytes);
        int[] parts;
        if (_wholeTokens != null && _wholeTokens.TryGetValue(ByteLevel.ToUnicode(bytes[..n]), out int whole))
        {
            parts = [whole];
            n = 1;
        }
        else
        {
            parts = new int[n];
            for (int i = 0; i < n; i++) parts[i] = _byteIds[bytes[i]];
            n = BytePairMerge.Merge(parts, _merges);
        }
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        return n == parts.Length ? parts : parts[..n];
    }

    /// <summary><paramref name="text"/> with each lone surrogate replaced by U+FFFD (itself when there is none).</summary>
    static string WithoutLoneSurrogates(string text)
    {
        int first = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0) return text;
        char[]? chars = null;
        for (int i = first; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            chars ??= text.ToCharArray();
            chars[i] = '\uFFFD';
        }
        return chars == null ? text : new string(chars);
    }

    // ---- decoding ---------------------------------------------------------------------------

    /// <summary>The text of <paramref name="ids"/> (added tokens as their text; bytes that are no character as U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    public StreamingDecoder NewStreamingDecoder() => new Utf8StreamingDecoder(this);

    public byte[] DecodeBytes(IEnumerable<int> ids) => ByteLevelDecoding.Bytes(this, ids);
}
