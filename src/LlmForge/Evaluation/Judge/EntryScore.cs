namespace LlmForge.Evaluation.Judge;

/// <summary>The judge's answer about one entry and the score read from it (null: the answer holds no usable score).</summary>
public sealed record EntryScore(int? Score, string? Answer)
{
    public static EntryScore From(string? answer) => new(JudgeScore.Parse(answer), answer);

    /// <summary>Why the entry is unscored; null when it has a score.</summary>
    public string? Problem => Score == null ? JudgeScore.Problem(Answer) : null;
}
