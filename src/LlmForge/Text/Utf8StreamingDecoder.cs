using System.Text;

namespace LlmForge.Text;

/// <summary>
/// Streams a byte-level tokenizer's output: each token's bytes go through a stateful UTF-8 decoder, which
/// keeps the bytes of an unfinished character until the next token brings the rest.
/// </summary>
sealed class Utf8StreamingDecoder(IByteLevelVocabulary tokenizer) : StreamingDecoder
{
    // UTF8Encoding's decoder replaces invalid bytes as a one-shot GetString of all the bytes would, whatever the cuts.
    readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    char[] _chars = new char[16];

    public override string Add(int id)
    {
        if (id < 0 || id >= tokenizer.VocabSize)
            throw new TokenizerException($"id {id} is outside the vocabulary of {tokenizer.VocabSize} tokens");
        return Decode(tokenizer.TokenBytes(id), flush: false);
    }

    public override string Finish() => Decode([], flush: true);

    string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _chars.Length) _chars = new char[Math.Max(needed, 2 * _chars.Length)];
        int count = _decoder.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, count);
    }
}
