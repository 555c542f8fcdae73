namespace LlmForge.Training;

/// <summary>
/// Appendix D's schedule. For optimiser step g (from 0) of T: while g &lt; W, linear warmup from the
/// initial rate to the peak; afterwards cosine decay from the peak to the minimum. Without warmup
/// and without a minimum the rate is constant.
/// </summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps = 0, double? InitialLr = null, double? MinLr = null)
{
    public double At(long step, long totalSteps)
    {
        if (WarmupSteps == 0 && MinLr is null) return Peak;
        double initial = InitialLr ?? 0.0, minimum = MinLr ?? Peak;
        if (step < WarmupSteps) return initial + step * (Peak - initial) / WarmupSteps;
        long decaySteps = totalSteps - WarmupSteps;
        if (decaySteps <= 0) return Peak;
        double progress = (double)(step - WarmupSteps) / decaySteps;
        return minimum + (Peak - minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
