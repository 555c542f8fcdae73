namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge finetune</c>: stage 3 of the book, a pretrained model taught a task.</summary>
static class FinetuneCommand
{
    public static Command Create() => new("finetune", "Fine-tune a model for a task (chapters 6 and 7).")
    {
        FinetuneClassifyCommand.Create(),
        FinetuneInstructCommand.Create(),
        FinetuneDpoCommand.Create(),
    };
}
