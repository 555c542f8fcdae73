namespace LlmForge.Text;

/// <summary>
/// Decodes generated ids one at a time, each step costing about one token's work rather than decoding every
/// id again. A token's text may depend on what follows it (half of a UTF-8 character, a space a punctuation
/// mark removes), so a step returns only text that can no longer change and holds back the rest.
/// The pieces of <see cref="Add"/> followed by <see cref="Finish"/> join to exactly <see cref="ITokenizer.Decode"/> of all the ids.
/// </summary>
public abstract class StreamingDecoder
{
    /// <summary>The text that <paramref name="id"/> completes; empty when it is all held back.</summary>
    /// <exception cref="TokenizerException">the id is outside the vocabulary.</exception>
    public abstract string Add(int id);

    /// <summary>What is still held back, as the whole decode would end it (an incomplete character becomes U+FFFD).</summary>
    public abstract string Finish();
}
