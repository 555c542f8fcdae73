namespace LlmForge.Instruction;

/// <summary>A JSON array of instruction entries (the book's <c>instruction-data.json</c>, Alpaca-style files of that shape).</summary>
public sealed class InstructionFile
{
    InstructionFile(string path, IReadOnlyList<InstructionEntry> entries)
    {
        Path = path;
        Entries = entries;
    }

    public string Path { get; }

    /// <summary>The entries in file order; never empty.</summary>
    public IReadOnlyList<InstructionEntry> Entries { get; }

    /// <summary>
    /// Reads <paramref name="path"/>. Anything unusable is a <see cref="BadInputException"/> naming the file,
    /// and for a bad entry its 0-based index and the field (see <see cref="InstructionEntry.From"/>).
    /// </summary>
    public static InstructionFile Read(string path) => new(path, JsonEntries.Read(path, InstructionEntry.From));
}
