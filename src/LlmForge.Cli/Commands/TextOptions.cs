namespace LlmForge.Cli.Commands;

/// <summary>Options shared by commands that read text: <c>--text</c>/<c>--file</c>, <c>--tokenizer</c>, <c>--json</c>.</summary>
static class TextOptions
{
    public static Option<string> Tokenizer() => new("--tokenizer")
    {
        Description = "gpt2 (default), simple (the book's word tokenizer, vocabulary built from the text), or the path of a trained tokenizer",
        DefaultValueFactory = _ => "gpt2",
    };

    public static Option<bool> Json() => new("--json") { Description = "print one JSON object on stdout" };

    public static Option<int> PositiveInt(string name, string description, int? defaultValue = null)
    {
        var option = new Option<int>(name) { Description = description, Required = defaultValue == null };
        if (defaultValue is int value) option.DefaultValueFactory = _ => value;
        option.Validators.Add(result =>
        {
            // Only a given number is checked here; one that is not a number is the parser's to report.
            if (result.Tokens is [var token] && int.TryParse(token.Value, out int given) && given < 1)
                result.AddError($"{name} must be at least 1, got {given}");
        });
        return option;
    }

    /// <summary>The text of <paramref name="file"/>, or <paramref name="text"/>; exactly one must be given.</summary>
    public static string Read(string? text, string? file)
    {
        if ((text == null) == (file == null)) throw new BadInputException("give exactly one of --text and --file");
        if (file != null) return TextFile.ReadUtf8(file);
        if (text!.Length == 0) throw new BadInputException("--text is empty");
        return text;
    }
}
