namespace LlmForge.Preference;

/// <summary>
/// The book's DPO <c>custom_collate_fn</c>: chosen and rejected sequences padded to one common length,
/// the longest of either in the batch plus one; a mask that keeps only response tokens; then everything
/// cut to the model's context.
/// </summary>
public static class PreferenceCollate
{
    /// <param name="items">the pairs of the batch, in order.</param>
    /// <param name="padId">the id that fills each sequence to the common length (GPT-2: 50256).</param>
    /// <param name="maxLength">the most ids a row keeps (the book's <c>allowed_max_length</c>: the model's context).</param>
    public static PreferenceBatch Batch(IReadOnlyList<EncodedPreference> items, int padId, int maxLength)
    {
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "the maximum length must be at least 1");
        int rows = items.Count;
        int common = rows == 0 ? 0 : items.Max(item => Math.Max(item.Chosen.Length, item.Rejected.Length)) + 1;
        int length = Math.Min(common, maxLength);
        var chosen = new long[rows * length];
        var rejected = new long[rows * length];
        var chosenMask = new bool[rows * length];
        var rejectedMask = new bool[rows * length];
        for (int r = 0; r < rows; r++)
        {
            var item = items[r];
            Row(item.Chosen, item.PromptLength, padId, chosen.AsSpan(r * length, length), chosenMask.AsSpan(r * length, length));
            Row(item.Rejected, item.PromptLength, padId, rejected.AsSpan(r * length, length), rejectedMask.AsSpan(r * length, length));
        }
        return new PreferenceBatch(chosen, rejected, chosenMask, rejectedMask, rows, length);
    }

    /// <summary>
    /// One sequence, already cut to the row's length: its ids then padding; the mask true from position
    /// <c>promptLength + 2</c> up to the end of the sequence. The book masks <c>[:prompt_length + 2]</c>:
    /// the prompt and the two newline tokens that open the response header.
    /// </summary>
    static void Row(int[] sequence, int promptLength, int padId, Span<long> ids, Span<bool> mask)
    {
        int real = Math.Min(sequence.Length, ids.Length);
        for (int t = 0; t < real; t++) ids[t] = sequence[t];
        ids[real..].Fill(padId);
        for (int t = promptLength + 2; t < real; t++) mask[t] = true;
    }
}
