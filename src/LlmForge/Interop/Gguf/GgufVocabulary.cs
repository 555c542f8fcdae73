using LlmForge.Text;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// A byte-level BPE tokenizer as llama.cpp reads it from GGUF (<c>tokenizer.ggml.*</c>): the model <c>gpt2</c>, the
/// pre-tokenizer llama.cpp knows the split rule by (<c>gpt-2</c>, <c>llama-bpe</c>, <c>qwen2</c>), every token's string in
/// the byte-level alphabet (an added token's as its text), each token's type, the merges as "left right", the
/// special ids and the chat template. A vocabulary padded past the tokenizer (Qwen3's 151,936 rows for 151,669
/// tokens) gets <c>[PADn]</c> tokens of type unused, as llama.cpp's converter writes them: llama.cpp takes the
/// vocabulary's size from the token list, and it must equal the embedding's rows.
/// </summary>
public sealed record GgufVocabulary(string Pre, string[] Tokens, int[] TokenTypes, string[] Merges,
    int? BosId, int? EosId, int? PadId, bool AddBos, string? ChatTemplate)
{
    /// <summary>llama.cpp's <c>llama_token_type</c>.</summary>
    public const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <summary>The split rule of each pre-tokenizer llama.cpp names (its own regex is chosen by the name).</summary>
    static readonly (string Pattern, string Pre)[] KnownSplits =
    [
        (Gpt2PreTokenizer.Pattern, "gpt-2"),
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", "llama-bpe"),
        (@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", "qwen2"),
    ];

    /// <summary>The vocabulary of <paramref name="tokenizer"/>, padded to the model's <paramref name="vocabSize"/> rows.</summary>
    public static GgufVocabulary Of(ITokenizer tokenizer, int vocabSize) => tokenizer switch
    {
        Gpt2Tokenizer gpt2 => OfGpt2(gpt2, vocabSize),
        HfBpeTokenizer hf => OfHuggingFace(hf, vocabSize),
        _ => throw new BadInputException($"the {tokenizer.Name} tokenizer is not byte-level BPE; llama.cpp reads only GPT-2's kind of tokenizer from this export"),
    };

    /// <summary>GPT-2's tokenizer (or one trained here in its form): <c>&lt;|endoftext|&gt;</c> begins, ends and pads.</summary>
    static GgufVocabulary OfGpt2(Gpt2Tokenizer tokenizer, int vocabSize)
    {
        CheckSize(tokenizer, vocabSize);
        var specials = tokenizer.SpecialTokens.Select(s => s.Id).ToHashSet();
        var tokens = HfTokenizerFiles.TokenStrings(tokenizer);
        var merges = HfTokenizerFiles.MergesOf(tokenizer).Select(m => $"{tokens[m.Left]} {tokens[m.Right]}").ToArray();
        int[] types = Enumerable.Range(0, tokens.Length).Select(id => specials.Contains(id) ? Control : Normal).ToArray();
        int? endOfText = tokenizer.EndOfTextId >= 0 ? tokenizer.EndOfTextId : null;
        return Padded(new GgufVocabulary("gpt-2", tokens, types, merges, endOfText, endOfText, endOfText, AddBos: false, ChatTemplate: null), vocabSize);
    }

    /// <summary>A Hugging Face tokenizer.json (Llama 3's, Qwen3's): added tokens are control tokens when special, user-defined when not.</summary>
    static GgufVocabulary OfHuggingFace(HfBpeTokenizer tokenizer, int vocabSize)
    {
        CheckSize(tokenizer, vocabSize);
        var json = HfTokenizerJson.Read(tokenizer.Path);
        string split = json.SplitPatterns.Count == 1 ? json.SplitPatterns[0] : string.Join(" then ", json.SplitPatterns);
        string pre = KnownSplits.FirstOrDefault(k => k.Pattern == split).Pre
            ?? throw new BadInputException($"{tokenizer.Path}: its pre-tokenizer splits by {split}, which is none of the rules llama.cpp knows by name (GPT-2's, Llama 3's, Qwen2's); llama.cpp would tokenize differently");
        var tokens = new string[tokenizer.VocabSize];
        var types = new int[tokenizer.VocabSize];
        foreach (var (text, id) in json.Vocab) (tokens[id], types[id]) = (text, Normal);
        foreach (var added in json.AddedTokens) (tokens[added.Id], types[added.Id]) = (added.Content, added.Special ? Control : UserDefined);
        var merges = json.Merges.Select(m => $"{m.Left} {m.Right}").ToArray();
        return Padded(new GgufVocabulary(pre, tokens, types, merges, tokenizer.BosId, tokenizer.EndOfTextId, tokenizer.PadId,
            AddBos: tokenizer.PrefixIds.Count > 0 && tokenizer.PrefixIds[0] == tokenizer.BosId, tokenizer.ChatTemplateSource), vocabSize);
    }

    static void CheckSize(ITokenizer tokenizer, int vocabSize)
    {
        if (tokenizer.VocabSize > vocabSize)
            throw new BadInputException($"the {tokenizer.Name} tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {vocabSize}; llama.cpp would refuse the file");
    }

    static GgufVocabulary Padded(GgufVocabulary vocabulary, int vocabSize)
    {
        int have = vocabulary.Tokens.Length;
        if (have == vocabSize) return vocabulary;
        return vocabulary with
        {
            Tokens = [.. vocabulary.Tokens, .. Enumerable.Range(have, vocabSize - have).Select(i => $"[PAD{i}]")],
            TokenTypes = [.. vocabulary.TokenTypes, .. Enumerable.Repeat(Unused, vocabSize - have)],
        };
    }

    /// <summary>The <c>tokenizer.ggml.*</c> keys (and <c>tokenizer.chat_template</c>).</summary>
    public void WriteTo(GgufWriter gguf)
    {
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", Pre);
        gguf.Add("tokenizer.ggml.tokens", Tokens);
        gguf.Add("tokenizer.ggml.token_type", TokenTypes);
        gguf.Add("tokenizer.ggml.merges", Merges);
        if (BosId is int bos) gguf.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (EosId is int eos) gguf.Add("tokenizer.ggml.eos_token_id", (uint)eos);
        if (PadId is int pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", AddBos);
        gguf.Add("tokenizer.ggml.add_eos_token", false);
        if (ChatTemplate != null) gguf.Add("tokenizer.chat_template", ChatTemplate);
    }
}
