using System.Text;

namespace LlmForge.Classification;

/// <summary>
/// Splits CSV text into records as RFC 4180 writes them: fields separated by commas, records by LF or
/// CRLF, and a field in double quotes may hold commas, line breaks and doubled quotes ("" for ").
/// </summary>
static class CsvRecords
{
    /// <summary>Each record's fields and the 1-based line it starts on; a quote left open is a <see cref="BadInputException"/>.</summary>
    public static IEnumerable<(List<string> Fields, int Line)> Read(string text, string path)
    {
        int i = 0, line = 1;
        while (i < text.Length)
        {
            int recordLine = line;
            var fields = new List<string>();
            while (true)
            {
                if (i < text.Length && text[i] == '"')
                {
                    int openLine = line;
                    var field = new StringBuilder();
                    for (i++; ; i++)
                    {
                        if (i >= text.Length) throw new BadInputException($"{path}: line {openLine}: a quoted field is not closed");
                        if (text[i] == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; continue; }
                            i++;
                            break;
                        }
                        if (text[i] == '\n') line++;
                        field.Append(text[i]);
                    }
                    if (i < text.Length && text[i] == '\r' && (i + 1 == text.Length || text[i + 1] == '\n')) i++;
                    if (i < text.Length && text[i] is not (',' or '\n'))
                        throw new BadInputException($"{path}: line {line}: text after a closing quote (a quote inside a quoted field is written twice)");
                    fields.Add(field.ToString());
                }
                else
                {
                    int end = i;
                    while (end < text.Length && text[end] is not (',' or '\n')) end++;
                    // A CR before the record's LF belongs to the line break (CRLF), not to the field.
                    int stop = end > i && text[end - 1] == '\r' && (end == text.Length || text[end] == '\n') ? end - 1 : end;
                    fields.Add(text[i..stop]);
                    i = end;
                }
                if (i < text.Length && text[i] == ',') { i++; continue; }
                if (i < text.Length) { i++; line++; } // the record's LF
                break;
            }
            yield return (fields, recordLine);
        }
    }
}
