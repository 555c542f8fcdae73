namespace LlmForge.Text;

/// <summary>Turns text into token ids and back: what every stage of the book starts from.</summary>
public interface ITokenizer
{
    /// <summary>A short name for reports, such as "gpt2" or "simple".</summary>
    string Name { get; }

    /// <summary>The number of distinct ids, special tokens included.</summary>
    int VocabSize { get; }

    int[] Encode(string text);

    string Decode(IEnumerable<int> ids);
}
