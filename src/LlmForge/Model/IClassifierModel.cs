using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// A language model whose output head can be replaced by one to a task's classes (chapter 6), whatever its
/// family: GPT-2's and the Llama 3 / Qwen3 family's.
/// </summary>
public interface IClassifierModel : ILanguageModel
{
    /// <summary>The width of the vectors the head reads.</summary>
    int HiddenSize { get; }

    /// <summary>Transformer blocks, named <c>trf_blocks.N.*</c>.</summary>
    int BlockCount { get; }

    /// <summary>Puts <paramref name="head"/> in place of the output head; its parameters are named <c>out_head.*</c>.</summary>
    /// <param name="labels">the name of each output in class-index order, or null.</param>
    void ReplaceOutputHead(Linear head, IReadOnlyList<string>? labels = null);

    /// <summary>The classes' names (a classifier's), or null.</summary>
    IReadOnlyList<string>? Labels { get; set; }

    /// <summary>How a classifier reads a text (padded length, <c>last</c> or <c>mean</c> pooling), or null.</summary>
    (int PaddedLength, string Pooling)? ClassifierInput { get; set; }

    /// <summary>Whether the head is still the vocabulary head the model was built with.</summary>
    bool HasVocabularyHead { get; }
}
