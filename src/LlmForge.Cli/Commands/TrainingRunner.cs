using System.Runtime.InteropServices;

namespace LlmForge.Cli.Commands;

/// <summary>
/// Runs a trainer for a command: progress on stderr, Ctrl-C or SIGTERM finishing the current step
/// and saving before it stops, and the line that says how to continue. The same for every trainer.
/// </summary>
static class TrainingRunner
{
    public const int ExitInterrupted = 130;

    /// <param name="command">the command's words, for the resume hint (<c>pretrain</c>, <c>finetune classify</c>).</param>
    /// <param name="setupNote">what the run is, printed before the first step.</param>
    public static TrainingOutcome Run(ITrainer trainer, string command, string setupNote)
    {
        var progress = new ProgressLine();
        trainer.Progress = progress.Show;
        trainer.Log = progress.Note;
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        if (trainer.Notice != null) progress.Note(trainer.Notice);
        progress.Note(setupNote);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        TrainingOutcome outcome;
        try
        {
            outcome = trainer.Run(stop.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        if (outcome == TrainingOutcome.Interrupted)
            progress.Note($"stopped at step {trainer.Step} after {ProgressLine.Format(wall.Elapsed)}; continue with: llmforge {command} --resume {trainer.RunDirectory}");
        else if (outcome == TrainingOutcome.Completed)
            progress.Note($"done: {trainer.Step} steps in {ProgressLine.Format(wall.Elapsed)}; metrics in {trainer.MetricsPath}, plot {trainer.PlotPath}, checkpoint {Interop.Checkpoint.Latest(trainer.RunDirectory)}");
        return outcome;
    }

    /// <summary>The exit code of a run that ended so.</summary>
    public static int ExitCode(TrainingOutcome outcome) => outcome switch
    {
        TrainingOutcome.Interrupted => ExitInterrupted,
        TrainingOutcome.LossNotFinite => Cli.ExitFailure,
        _ => Cli.ExitOk,
    };
}
