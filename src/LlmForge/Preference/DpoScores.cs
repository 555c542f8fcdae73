namespace LlmForge.Preference;

/// <summary>
/// DPO's figures over some batches: the loss, and the mean rewards (policy minus reference
/// log-probability, not scaled by beta, as the book logs them) of the chosen and the rejected responses.
/// </summary>
public sealed record DpoScores(double Loss, double ChosenReward, double RejectedReward)
{
    /// <summary>How much more the policy (relative to the reference) prefers the chosen responses: what DPO raises.</summary>
    public double Margin => ChosenReward - RejectedReward;
}
