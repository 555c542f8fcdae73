using System.Diagnostics;

namespace LlmForge.Cli;

/// <summary>
/// Progress of counted work on stderr ("windows 12/80"), for commands that run long without a training bar.
/// On a terminal one line is redrawn (at most ten times a second); when stderr is a file or a pipe, a line is
/// printed every ten seconds and when a phase completes, so that logs stay short.
/// </summary>
sealed class CountProgress
{
    const int Width = 72;
    readonly bool _interactive = !Console.IsErrorRedirected;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan _lastPrinted = TimeSpan.Zero;

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> <paramref name="unit"/> in the phase <paramref name="what"/>.</summary>
    public void Show(string what, long done, long total, string unit)
    {
        bool final = done >= total;
        var now = _clock.Elapsed;
        var interval = _interactive ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(10);
        if (!final && now - _lastPrinted < interval) return;
        _lastPrinted = now;
        string line = $"{what}: {done:N0}/{total:N0} {unit} ({now.TotalSeconds:F1} s)";
        if (_interactive)
        {
            Console.Error.Write("\r" + line.PadRight(Width));
            if (final) Console.Error.WriteLine();
        }
        else
        {
            Console.Error.WriteLine(line);
        }
    }
}
