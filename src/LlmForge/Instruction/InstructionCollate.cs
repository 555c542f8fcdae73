namespace LlmForge.Instruction;

/// <summary>
/// The book's <c>custom_collate_fn</c> (chapter 7): sequences of unequal length become one batch of
/// next-token inputs and targets, with the padding the loss must not count marked <see cref="IgnoreIndex"/>.
/// </summary>
public static class InstructionCollate
{
    /// <summary>The target value cross-entropy skips (PyTorch's default <c>ignore_index</c>).</summary>
    /// <summary>The target the loss skips: <see cref="TokenBatch.IgnoreIndex"/>.</summary>
    public const long IgnoreIndex = TokenBatch.IgnoreIndex;

    /// <summary>
    /// For each sequence: append one <paramref name="padId"/> and pad with it to the batch's longest plus one;
    /// inputs are all but the last id, targets all but the first. In each targets row the first
    /// <paramref name="padId"/> is kept (the model learns to end its answer) and every later one becomes
    /// <see cref="IgnoreIndex"/>; this is by value, as the book's <c>targets == pad_token_id</c>, so an
    /// end-of-text inside the text counts as that first one. With <paramref name="promptLengths"/> (the
    /// book's exercise 7.2) the first <c>promptLength - 1</c> targets (those predicting prompt tokens) are
    /// also ignored. Last, rows are cut to <paramref name="maxLength"/> ids when given (the model's context).
    /// </summary>
    public static TokenBatch Collate(IReadOnlyList<int[]> sequences, int padId, int? maxLength = null, IReadOnlyList<int>? promptLengths = null)
    {
        if (sequences.Count == 0) throw new ArgumentException("a batch needs at least one sequence");
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "must be at least 1");
        if (promptLengths != null && promptLengths.Count != sequences.Count)
            throw new ArgumentException($"{sequences.Count} sequences but {promptLengths.Count} prompt lengths");
        int padded = sequences.Max(s => s.Length) + 1;
        int full = padded - 1, length = Math.Min(full, maxLength ?? full);
        int rows = sequences.Count;
        var inputs = new long[rows * length];
        var targets = new long[rows * length];
        var rowTargets = new long[full];
        for (int r = 0; r < rows; r++)
        {
            var ids = sequences[r];
            // padded[k] is ids[k] within the text, padId after it (the appended end and the padding).
            long At(int k) => k < ids.Length ? ids[k] : padId;
            bool kept = false;
            for (int t = 0; t < full; t++)
            {
                long target = At(t + 1);
                if (target == padId)
                {
                    if (kept) target = IgnoreIndex;
                    kept = true;
                }
                rowTargets[t] = target;
            }
            if (promptLengths != null)
                rowTargets.AsSpan(0, Math.Clamp(promptLengths[r] - 1, 0, full)).Fill(IgnoreIndex);
            for (int t = 0; t < length; t++)
            {
                inputs[r * length + t] = At(t);
                targets[r * length + t] = rowTargets[t];
            }
        }
        return new TokenBatch(inputs, targets, rows, length);
    }
}
