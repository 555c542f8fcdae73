namespace LlmForge.Text;

/// <summary>
/// A vocabulary whose every token stands for a run of bytes (special tokens for their UTF-8 text): what
/// <see cref="Utf8StreamingDecoder"/> needs to stream any byte-level BPE tokenizer's output.
/// </summary>
interface IByteLevelVocabulary
{
    int VocabSize { get; }

    /// <summary>The bytes of token <paramref name="id"/>; the caller checks that the id is in the vocabulary.</summary>
    ReadOnlySpan<byte> TokenBytes(int id);
}
