namespace LlmForge.Classification;

/// <summary>Which positions' output gives a text's class logits.</summary>
public enum ClassificationPooling
{
    /// <summary>The last position of the padded row, padding included: the book's <c>logits[:, -1, :]</c>.</summary>
    Last,

    /// <summary>The mean over the text's real (not padding) positions.</summary>
    Mean,
}
