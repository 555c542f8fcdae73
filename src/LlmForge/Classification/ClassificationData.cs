namespace LlmForge.Classification;

/// <summary>The three encoded sets of a classifier, all padded to one length.</summary>
public sealed record ClassificationData(ClassLabels Labels, ClassificationDataset Train, ClassificationDataset Validation, ClassificationDataset Test)
{
    /// <summary>Ids per row in every set.</summary>
    public int PaddedLength => Train.Length;

    /// <summary>
    /// Encodes <paramref name="splits"/> with <paramref name="tokenizer"/>. Rows have <paramref name="maxLength"/>
    /// ids when given, else as many as the longest training text (the book: validation and test take the
    /// training length), but never more than the model's <paramref name="contextLength"/>; longer texts are
    /// truncated. Padding is the tokenizer's pad id (GPT-2: end-of-text, 50256).
    /// </summary>
    public static ClassificationData Encode(ClassificationSplits splits, ITokenizer tokenizer, int contextLength, int? maxLength = null)
    {
        if (maxLength < 1) throw new BadInputException($"--max-length must be at least 1, got {maxLength}");
        if (maxLength > contextLength)
            throw new BadInputException($"--max-length {maxLength} exceeds the model's context length of {contextLength}");
        int padId = tokenizer.PadId ?? tokenizer.EndOfTextId
            ?? throw new BadInputException($"the tokenizer '{tokenizer.Name}' has no padding or end-of-text token to pad texts with");
        var train = EncodeTexts(splits.Train, tokenizer);
        int length = maxLength ?? Math.Min(train.Max(ids => ids.Length), contextLength);
        return new ClassificationData(
            splits.Labels,
            Dataset(train, splits.Train, splits.Labels, length, padId),
            Dataset(EncodeTexts(splits.Validation, tokenizer), splits.Validation, splits.Labels, length, padId),
            Dataset(EncodeTexts(splits.Test, tokenizer), splits.Test, splits.Labels, length, padId));
    }

    static int[][] EncodeTexts(IReadOnlyList<LabelledExample> examples, ITokenizer tokenizer) =>
        examples.Select(e => tokenizer.Encode(e.Text)).ToArray();

    static ClassificationDataset Dataset(int[][] ids, IReadOnlyList<LabelledExample> examples, ClassLabels labels, int length, int padId) =>
        new(ids, examples.Select(e => labels.IndexOf(e.Label)).ToArray(), length, padId);
}
