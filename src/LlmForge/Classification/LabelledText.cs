namespace LlmForge.Classification;

/// <summary>
/// A file of labelled texts: a TSV of <c>label&lt;TAB&gt;text</c> lines (as the SMS Spam Collection), or a
/// CSV with a header row naming the text and label columns.
/// </summary>
public sealed class LabelledText
{
    LabelledText(string path, IReadOnlyList<LabelledExample> examples)
    {
        Path = path;
        Examples = examples;
    }

    public string Path { get; }

    public IReadOnlyList<LabelledExample> Examples { get; }

    /// <summary>
    /// Reads <paramref name="path"/>: a CSV when it ends in <c>.csv</c> or a column is named (columns
    /// <c>text</c> and <c>label</c> unless named), a TSV otherwise. Anything unusable is a
    /// <see cref="BadInputException"/> naming the file and the line.
    /// </summary>
    public static LabelledText Read(string path, string? textColumn = null, string? labelColumn = null) =>
        textColumn != null || labelColumn != null || path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? ReadCsv(path, textColumn ?? "text", labelColumn ?? "label")
            : ReadTsv(path);

    /// <summary>
    /// <c>label&lt;TAB&gt;text</c> per line, split at the first tab only. Quotes are part of the text (the
    /// SMS file has messages that start with one: CSV quoting would merge lines). Blank lines are skipped.
    /// </summary>
    public static LabelledText ReadTsv(string path)
    {
        string text = TextFile.ReadUtf8(path);
        var examples = new List<LabelledExample>();
        string[] lines = text.Split('\n');
        for (int n = 1; n <= lines.Length; n++)
        {
            string line = lines[n - 1].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            int tab = line.IndexOf('\t');
            if (tab < 0) throw new BadInputException($"{path}: line {n}: no tab; expected label<TAB>text");
            examples.Add(Example(path, n, line[..tab], line[(tab + 1)..]));
        }
        return Finish(path, examples);
    }

    /// <summary>A CSV (RFC 4180) whose first record names the columns; every record has as many fields as the header.</summary>
    public static LabelledText ReadCsv(string path, string textColumn, string labelColumn)
    {
        string text = TextFile.ReadUtf8(path);
        List<string>? header = null;
        int textAt = -1, labelAt = -1;
        var examples = new List<LabelledExample>();
        foreach (var (fields, line) in CsvRecords.Read(text, path))
        {
            if (fields is [var only] && string.IsNullOrWhiteSpace(only)) continue; // a blank line
            if (header == null)
            {
                header = fields;
                textAt = Column(path, header, textColumn);
                labelAt = Column(path, header, labelColumn);
                continue;
            }
            if (fields.Count != header.Count)
                throw new BadInputException($"{path}: line {line}: {fields.Count} fields, expected {header.Count} as in the header");
            examples.Add(Example(path, line, fields[labelAt], fields[textAt], $" (column '{labelColumn}')", $" (column '{textColumn}')"));
        }
        return Finish(path, examples);
    }

    static int Column(string path, List<string> header, string name)
    {
        int at = header.IndexOf(name);
        if (at < 0)
            throw new BadInputException($"{path}: line 1: no column '{name}' in the header (columns: {string.Join(", ", header.Select(h => $"'{h}'"))})");
        return at;
    }

    static LabelledExample Example(string path, int line, string label, string text, string labelWhere = "", string textWhere = "")
    {
        // Spaces around a label are layout, not part of the class name.
        label = label.Trim();
        if (label.Length == 0) throw new BadInputException($"{path}: line {line}: empty label{labelWhere}");
        if (string.IsNullOrWhiteSpace(text)) throw new BadInputException($"{path}: line {line}: empty text{textWhere}");
        return new LabelledExample(label, text, line);
    }

    static LabelledText Finish(string path, List<LabelledExample> examples) =>
        examples.Count == 0 ? throw new BadInputException($"{path}: no examples") : new LabelledText(path, examples);
}
