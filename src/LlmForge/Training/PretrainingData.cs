namespace LlmForge.Training;

/// <summary>
/// The text a model is pretrained on (chapter 5): one file, or every <c>.txt</c> file of a directory
/// joined with <c>&lt;|endoftext|&gt;</c>; the last fraction of the text is held out for validation,
/// as the book splits <c>text[:split]</c> / <c>text[split:]</c>, and each part is tokenized on its own.
/// </summary>
public sealed class PretrainingData
{
    public PretrainingData(int[] trainIds, int[] valIds, IReadOnlyList<string> files)
    {
        TrainIds = trainIds;
        ValIds = valIds;
        Files = files;
    }

    public int[] TrainIds { get; }

    /// <summary>Empty when the validation fraction is 0.</summary>
    public int[] ValIds { get; }

    public IReadOnlyList<string> Files { get; }

    public static PretrainingData Load(string path, ITokenizer tokenizer, double valFraction)
    {
        if (valFraction is < 0 or >= 1 || double.IsNaN(valFraction))
            throw new BadInputException($"the validation fraction must be in [0, 1), got {valFraction}");
        string text;
        List<string> files;
        if (Directory.Exists(path))
        {
            files = Directory.EnumerateFiles(path, "*.txt").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new BadInputException($"{path}: the directory has no .txt files");
            text = string.Join(Gpt2Tokenizer.EndOfText, files.Select(TextFile.ReadUtf8));
        }
        else
        {
            files = [path];
            text = TextFile.ReadUtf8(path);
        }
        int split = (int)((1 - valFraction) * text.Length);
        // Never cut a surrogate pair in two.
        if (split > 0 && split < text.Length && char.IsLowSurrogate(text[split])) split--;
        int[] train = tokenizer.Encode(text[..split]);
        int[] val = valFraction > 0 ? tokenizer.Encode(text[split..]) : [];
        return new PretrainingData(train, val, files);
    }
}
