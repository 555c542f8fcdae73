namespace LlmForge.Evaluation.Judge;

/// <summary>The scores of every entry of a responses file, in file order, and their average.</summary>
public sealed record JudgeResult(IReadOnlyList<EntryScore> Entries)
{
    public int Count => Entries.Count;

    public int Scored => Entries.Count(e => e.Score != null);

    /// <summary>The mean over the scored entries (unscored ones are left out, not counted as 0); null when none is scored.</summary>
    public double? Average => Scored == 0 ? null : Entries.Where(e => e.Score != null).Average(e => (double)e.Score!.Value);
}
