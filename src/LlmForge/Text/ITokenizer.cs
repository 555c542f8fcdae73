namespace LlmForge.Text;

/// <summary>Turns text into token ids and back: what every stage of the book starts from.</summary>
public interface ITokenizer
{
    /// <summary>A short name for reports, such as "gpt2" or "simple".</summary>
    string Name { get; }

    /// <summary>The number of distinct ids, special tokens included.</summary>
    int VocabSize { get; }

    /// <summary>
    /// The tokens written like <c>&lt;|name|&gt;</c> that stand for themselves rather than for text (such as
    /// <c>&lt;|endoftext|&gt;</c>), with their ids; a prompt may name only these. Empty when there are none.
    /// </summary>
    IReadOnlyList<(string Text, int Id)> SpecialTokens { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, where generation may stop and documents are joined; null when the vocabulary has none.</summary>
    int? EndOfTextId
    {
        get
        {
            foreach (var (text, id) in SpecialTokens)
                if (text == Gpt2Tokenizer.EndOfText) return id;
            return null;
        }
    }

    /// <summary>The id that fills batches of unequal lengths. GPT-2 has no padding token and pads with end-of-text (50256), as the book does.</summary>
    int? PadId => EndOfTextId;

    /// <summary>The ids that end a generated text: end of text, and where the model has one, end of turn.</summary>
    IReadOnlyList<int> StopIds => EndOfTextId is int id ? [id] : [];

    int[] Encode(string text);

    string Decode(IEnumerable<int> ids);

    /// <summary>A decoder that takes ids one at a time and gives the text each adds, for streaming output.</summary>
    StreamingDecoder NewStreamingDecoder();
}
