namespace LlmForge.Instruction;

/// <summary>
/// Encoded entries of one set (the book's <c>InstructionDataset</c>): each entry's training text as token
/// ids, and how many ids its prompt alone encodes to (for masking the instruction, the book's exercise 7.2).
/// </summary>
public sealed class InstructionDataset
{
    readonly IReadOnlyList<int[]> _ids;
    readonly IReadOnlyList<int> _promptLengths;

    public InstructionDataset(IReadOnlyList<int[]> ids, IReadOnlyList<int> promptLengths, int padId)
    {
        if (ids.Count != promptLengths.Count) throw new ArgumentException($"{ids.Count} texts but {promptLengths.Count} prompt lengths");
        _ids = ids;
        _promptLengths = promptLengths;
        PadId = padId;
    }

    public int Count => _ids.Count;

    /// <summary>The id appended to every sequence and padding batches (GPT-2: end-of-text, 50256).</summary>
    public int PadId { get; }

    /// <summary>The ids of <paramref name="entry"/>'s whole training text (prompt, response header, output).</summary>
    public int[] Ids(int entry) => _ids[entry];

    /// <summary>Ids of <paramref name="entry"/>'s prompt encoded alone (<see cref="AlpacaPrompt.Format(InstructionEntry)"/>).</summary>
    public int PromptLength(int entry) => _promptLengths[entry];

    /// <summary>The most ids an entry of this set has before truncation.</summary>
    public int Longest => _ids.Count == 0 ? 0 : _ids.Max(ids => ids.Length);

    /// <summary>
    /// Encodes <paramref name="entries"/> with <paramref name="tokenizer"/>: the training text as one text, and
    /// the prompt alone for its length. Padding is the tokenizer's pad id, else its end-of-text id.
    /// </summary>
    public static InstructionDataset Encode(IReadOnlyList<InstructionEntry> entries, ITokenizer tokenizer)
    {
        int padId = tokenizer.PadId ?? tokenizer.EndOfTextId
            ?? throw new BadInputException($"the tokenizer '{tokenizer.Name}' has no padding or end-of-text token to end and pad responses with");
        var ids = new int[entries.Count][];
        var promptLengths = new int[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            ids[i] = tokenizer.Encode(AlpacaPrompt.TrainingText(entries[i]));
            promptLengths[i] = tokenizer.Encode(AlpacaPrompt.Format(entries[i])).Length;
        }
        return new InstructionDataset(ids, promptLengths, padId);
    }
}
