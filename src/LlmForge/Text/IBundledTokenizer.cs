namespace LlmForge.Text;

/// <summary>A tokenizer that can travel inside a checkpoint, so that the checkpoint stands alone.</summary>
public interface IBundledTokenizer : ITokenizer
{
    /// <summary>Writes the tokenizer's files into <paramref name="directory"/> (created), in a form <see cref="TokenizerLoader"/> reads back.</summary>
    void Save(string directory);
}
