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
}
