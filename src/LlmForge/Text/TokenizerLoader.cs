namespace LlmForge.Text;

/// <summary>
/// Resolves the <c>--tokenizer</c> choices of the command line: <c>gpt2</c>, <c>simple</c>, or a path: a GPT-2-format
/// directory (encoder.json + vocab.bpe, or vocab.json + merges.txt) or .tiktoken file loads as <see cref="Gpt2Tokenizer"/>,
/// a Hugging Face tokenizer.json (or a directory holding one and no GPT-2 files) as <see cref="HfBpeTokenizer"/>.
/// </summary>
public static class TokenizerLoader
{
    static readonly Lazy<Gpt2Tokenizer> Gpt2 = new(Gpt2Tokenizer.LoadBundled);

    /// <summary>GPT-2's tokenizer (loaded once per process).</summary>
    public static Gpt2Tokenizer Gpt2Default => Gpt2.Value;

    /// <summary>
    /// The tokenizer named by <paramref name="spec"/>. <c>simple</c> builds the book's word vocabulary
    /// from <paramref name="text"/>, the text about to be tokenized.
    /// </summary>
    public static ITokenizer Load(string spec, string text)
    {
        switch (spec)
        {
            case "gpt2":
                return Gpt2.Value;
            case "simple":
                return SimpleTokenizer.FromText(text);
        }
        if (Directory.Exists(spec) || File.Exists(spec)) return LoadPath(spec);
        throw new TokenizerException($"unknown tokenizer '{spec}': expected gpt2, simple, or the path of a trained tokenizer (a directory with encoder.json and vocab.bpe, or a .tiktoken file) or of a Hugging Face tokenizer.json (or its directory)");
    }

    /// <summary>
    /// The tokenizer of a Hugging Face model directory: its tokenizer.json (with tokenizer_config.json) when it has
    /// one and no GPT-2 files, else null (GPT-2 directories keep their own rules, in ModelLoader).
    /// </summary>
    public static HfBpeTokenizer? FromModelDirectory(string directory) =>
        IsHfTokenizerPath(directory) && Directory.Exists(directory) ? HfBpeTokenizer.Load(directory) : null;

    /// <summary>
    /// Whether <paramref name="path"/> names a Hugging Face tokenizer.json: such a file, or a directory that holds one
    /// and none of GPT-2's files (which keep loading as before when both are there).
    /// </summary>
    public static bool IsHfTokenizerPath(string path)
    {
        if (File.Exists(path)) return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (!Directory.Exists(path) || !File.Exists(Path.Combine(path, "tokenizer.json"))) return false;
        return !File.Exists(Path.Combine(path, "encoder.json")) && !Gpt2Tokenizer.HasHuggingFaceFiles(path);
    }

    static ITokenizer LoadPath(string path)
    {
        if (IsHfTokenizerPath(path)) return HfBpeTokenizer.Load(path);
        if (Directory.Exists(path) && !File.Exists(Path.Combine(path, "encoder.json")) && !Gpt2Tokenizer.HasHuggingFaceFiles(path))
            throw new TokenizerException($"{path}: a tokenizer directory needs tokenizer.json (Hugging Face's), or encoder.json and vocab.bpe (or vocab.json and merges.txt)");
        return Gpt2Tokenizer.Load(path);
    }

    /// <summary>
    /// The tokenizer of a model that is trained or saved: <c>gpt2</c>, or the path of a trained BPE
    /// tokenizer. The book's word tokenizer is refused: its vocabulary comes from one text, and a
    /// checkpoint could not bring it back.
    /// </summary>
    public static ITokenizer ForModel(string spec, string option = "--tokenizer")
    {
        if (spec == "gpt2") return Gpt2.Value;
        if (spec == "simple") throw new BadInputException($"{option} simple builds its vocabulary from one text and cannot be saved with a model; train a BPE tokenizer instead");
        return Gpt2Tokenizer.Load(spec);
    }

    /// <summary>
    /// What a checkpoint must carry to read its ids again: nothing for GPT-2's own tokenizer (null), the
    /// trained BPE tokenizer itself otherwise.
    /// </summary>
    public static IBundledTokenizer? ToBundle(ITokenizer tokenizer) => tokenizer switch
    {
        _ when Gpt2.IsValueCreated && ReferenceEquals(tokenizer, Gpt2.Value) => null,
        IBundledTokenizer files => files,
        _ => throw new BadInputException($"the {tokenizer.Name} tokenizer cannot be saved with a model; use gpt2, a trained BPE tokenizer or a tokenizer.json"),
    };
}
