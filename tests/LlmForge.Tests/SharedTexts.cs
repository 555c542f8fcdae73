namespace LlmForge.Tests;

/// <summary>The texts of ../shared/data the way the tests compare tokenizers on them.</summary>
static class SharedTexts
{
    public static string Story(string name) => File.ReadAllText(TestPaths.SharedData(name));

    /// <summary>Each SMS message (the text after the first tab of each line).</summary>
    public static List<string> SmsMessages() => File.ReadAllLines(TestPaths.SharedData("SMSSpamCollection.tsv"))
        .Where(line => line.Length > 0)
        .Select(line => line[(line.IndexOf('\t') + 1)..])
        .ToList();

    /// <summary>Each instruction entry as the book's Alpaca-style prompt followed by its response.</summary>
    public static List<string> InstructionEntries()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.SharedData("instruction-data.json")));
        var entries = new List<string>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            string instruction = entry.GetProperty("instruction").GetString()!;
            string input = entry.GetProperty("input").GetString()!;
            string output = entry.GetProperty("output").GetString()!;
            string text = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
                + $"\n\n### Instruction:\n{instruction}"
                + (input.Length > 0 ? $"\n\n### Input:\n{input}" : "")
                + $"\n\n### Response:\n{output}";
            entries.Add(text);
        }
        return entries;
    }
}
