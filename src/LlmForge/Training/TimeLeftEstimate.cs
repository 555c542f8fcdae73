namespace LlmForge.Training;

/// <summary>
/// Time left in a run, from the steps just done: the first steps of a session are slow (libtorch
/// warms up, pages fault in), so an estimate from them said "1h13m" for a seven-minute run. This one
/// waits for <see cref="WarmupSteps"/> steps, then averages the most recent <see cref="Window"/>.
/// </summary>
public sealed class TimeLeftEstimate
{
    public const int WarmupSteps = 3, Window = 20;

    readonly Queue<double> _recent = new();
    double _sum;
    int _seen;

    /// <summary>Records how long one step took (evaluations and saves included).</summary>
    public void Add(double seconds)
    {
        if (++_seen <= WarmupSteps) return;
        _recent.Enqueue(seconds);
        _sum += seconds;
        if (_recent.Count > Window) _sum -= _recent.Dequeue();
    }

    /// <summary>The estimate for <paramref name="stepsLeft"/> more steps, or null while still warming up.</summary>
    public TimeSpan? For(long stepsLeft) =>
        _recent.Count == 0 ? (stepsLeft == 0 ? TimeSpan.Zero : null) : TimeSpan.FromSeconds(_sum / _recent.Count * stepsLeft);
}
