using LlmForge.Text;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge tokenize</c>: the ids of a text (the book's chapter 2).</summary>
static class TokenizeCommand
{
    public static Command Create()
    {
        var text = new Option<string>("--text") { Description = "the text to tokenize" };
        var file = new Option<string>("--file") { Description = "a UTF-8 text file to tokenize" };
        var tokenizer = TextOptions.Tokenizer();
        var json = TextOptions.Json();
        var command = new Command("tokenize", "Turn text into token ids.") { text, file, tokenizer, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            string input = TextOptions.Read(parse.GetValue(text), parse.GetValue(file));
            var chosen = TokenizerLoader.Load(parse.GetValue(tokenizer)!, input);
            int[] ids = chosen.Encode(input);
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new { tokenizer = chosen.Name, count = ids.Length, vocab_size = chosen.VocabSize, ids });
            }
            else
            {
                Console.Out.WriteLine(string.Join(' ', ids));
                Console.Error.WriteLine($"{ids.Length:N0} tokens ({chosen.Name} tokenizer, vocabulary of {chosen.VocabSize:N0})");
            }
            return Cli.ExitOk;
        }));
        return command;
    }
}
