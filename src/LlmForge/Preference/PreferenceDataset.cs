namespace LlmForge.Preference;

/// <summary>Encoded preference pairs of one set, and the id that pads them into batches.</summary>
public sealed class PreferenceDataset
{
    readonly EncodedPreference[] _items;

    public PreferenceDataset(IReadOnlyList<EncodedPreference> items, int padId)
    {
        _items = items.ToArray();
        PadId = padId;
    }

    /// <summary>
    /// Encodes <paramref name="entries"/> with <paramref name="tokenizer"/>: the prompt alone (for its
    /// length) and each full text. Padding is the tokenizer's pad id (GPT-2: end-of-text, 50256).
    /// </summary>
    public static PreferenceDataset Encode(IReadOnlyList<PreferenceEntry> entries, ITokenizer tokenizer)
    {
        int padId = tokenizer.PadId ?? tokenizer.EndOfTextId
            ?? throw new BadInputException($"the tokenizer '{tokenizer.Name}' has no padding or end-of-text token to pad sequences with");
        var items = entries.Select(e => new EncodedPreference(
            tokenizer.Encode(e.Prompt).Length, tokenizer.Encode(e.ChosenText), tokenizer.Encode(e.RejectedText))).ToArray();
        return new PreferenceDataset(items, padId);
    }

    public int Count => _items.Length;

    public int PadId { get; }

    public EncodedPreference this[int index] => _items[index];

    /// <summary>
    /// Pairs of which the chosen or the rejected sequence keeps no response token once cut to
    /// <paramref name="maxLength"/> ids (the prompt and two more fill it). Such a sequence's
    /// log-probability counts as 0, so the pair teaches little or nothing: worth a warning.
    /// </summary>
    public int WithoutResponseTokens(int maxLength) =>
        _items.Count(item => Math.Min(maxLength, item.Chosen.Length) <= item.PromptLength + 2 || Math.Min(maxLength, item.Rejected.Length) <= item.PromptLength + 2);
}
