namespace LlmForge.Cli;

/// <summary>
/// The training progress bar on stderr: step, epoch, the step's batch loss, tokens per second, time left. On a
/// terminal it redraws one line; otherwise (a log file, CI) it prints a line every few seconds.
/// </summary>
sealed class ProgressLine
{
    const int Width = 100;
    readonly bool _interactive = !Console.IsErrorRedirected;
    DateTime _lastPrinted = DateTime.MinValue;

    public void Show(TrainingProgress p)
    {
        bool final = p.Step == p.TotalSteps;
        if (!_interactive && !final && DateTime.UtcNow - _lastPrinted < TimeSpan.FromSeconds(10)) return;
        _lastPrinted = DateTime.UtcNow;
        const int width = 24;
        int filled = (int)(width * p.Step / Math.Max(1, p.TotalSteps));
        string bar = new string('#', filled) + new string('-', width - filled);
        // "batch loss": this step's batches, not the evaluation's average that the notes print as "train loss".
        string left = p.Remaining is TimeSpan remaining ? Format(remaining) : "--:--";
        string line = $"[{bar}] step {p.Step}/{p.TotalSteps} epoch {p.Epoch} batch loss {p.Loss:F3} {p.TokensPerSecond:N0} {p.Unit}/s left {left}";
        if (_interactive) Console.Error.Write("\r" + line.PadRight(Width));
        else Console.Error.WriteLine(line);
        if (_interactive && final) Console.Error.WriteLine();
    }

    /// <summary>Prints a note on its own line, without breaking the bar.</summary>
    public void Note(string message)
    {
        if (_interactive) Console.Error.Write("\r" + new string(' ', Width) + "\r");
        Console.Error.WriteLine(message);
    }

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes:D2}:{t.Seconds:D2}";
}
