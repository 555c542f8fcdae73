using System.CommandLine.Help;
using System.CommandLine.Parsing;
using LlmForge.Cli;
using LlmForge.Cli.Commands;

LlmForge.NativeAllocator.Tune(); // before any tensor exists

// A plain command named llmforge rather than RootCommand, whose name is the file that started the process
// ("LlmForge.Cli" under `dotnet LlmForge.Cli.dll`) and shows up so in every usage line.
var root = new Command("llmforge", "llmforge: build a GPT-style language model from scratch, one command per step of the book.")
{
    new HelpOption(),
    new VersionOption(),
};
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(TokenizerCommand.Create());
root.Subcommands.Add(DatasetCommand.Create());
root.Subcommands.Add(ModelCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(FinetuneCommand.Create());
root.Subcommands.Add(ClassifyCommand.Create());
root.Subcommands.Add(RespondCommand.Create());
root.Subcommands.Add(JudgeCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(DownloadCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(EnvCommand.Create());
StrictNumbers.Apply(root);

// No response files: a value such as --prompt "@alice hi" is text, not the name of a file of arguments.
var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parsed.Errors.Count > 0)
{
    // Bad usage: one line naming the option or command, and exit code 2 (System.CommandLine would use 1).
    Cli.Error(UsageError.Describe(parsed));
    return Cli.ExitBadInput;
}
// Each command's action runs under Cli.Run already; this catches what escapes outside one (help, version).
return Cli.Run(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
