namespace LlmForge.Text;

/// <summary>Ids back to bytes for any byte-level vocabulary (GPT-2's, a Hugging Face tokenizer.json's).</summary>
static class ByteLevelDecoding
{
    /// <summary>The bytes behind <paramref name="ids"/>; a token may hold part of a character, so stream by bytes.</summary>
    /// <exception cref="TokenizerException">an id is outside the vocabulary.</exception>
    public static byte[] Bytes(IByteLevelVocabulary vocabulary, IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= vocabulary.VocabSize)
                throw new TokenizerException($"id {id} is outside the vocabulary of {vocabulary.VocabSize} tokens");
            bytes.AddRange(vocabulary.TokenBytes(id));
        }
        return bytes.ToArray();
    }
}
