namespace LlmForge.Text;

/// <summary>Resolves the <c>--tokenizer</c> choices of the command line: <c>gpt2</c>, <c>simple</c>, or a path.</summary>
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
        if (Directory.Exists(spec) || File.Exists(spec)) return Gpt2Tokenizer.Load(spec);
        throw new TokenizerException($"unknown tokenizer '{spec}': expected gpt2, simple, or the path of a trained tokenizer (a directory with encoder.json and vocab.bpe, or a .tiktoken file)");
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
    public static Gpt2Tokenizer? ToBundle(ITokenizer tokenizer) => tokenizer switch
    {
        _ when Gpt2.IsValueCreated && ReferenceEquals(tokenizer, Gpt2.Value) => null,
        Gpt2Tokenizer bpe => bpe,
        _ => throw new BadInputException($"the {tokenizer.Name} tokenizer cannot be saved with a model; use gpt2 or a trained BPE tokenizer"),
    };
}
