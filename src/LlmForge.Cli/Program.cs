using System.CommandLine;
using LlmForge.Cli;
using LlmForge.Cli.Commands;

LlmForge.NativeAllocator.Tune(); // before any tensor exists

var root = new RootCommand("llmforge: build a GPT-style language model from scratch, one command per step of the book.");
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(TokenizerCommand.Create());
root.Subcommands.Add(DatasetCommand.Create());
root.Subcommands.Add(ModelCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(DownloadCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(EnvCommand.Create());

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad usage: the parser's own words, then exit code 2 (System.CommandLine would use 1).
    foreach (var error in parsed.Errors) Cli.Error(error.Message);
    Cli.Error("run 'llmforge --help' for usage");
    return Cli.ExitBadInput;
}
return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
