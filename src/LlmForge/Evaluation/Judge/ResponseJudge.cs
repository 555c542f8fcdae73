namespace LlmForge.Evaluation.Judge;

/// <summary>Scores the model responses of a responses file with a judge model, one entry after another.</summary>
public static class ResponseJudge
{
    /// <summary>
    /// Asks <paramref name="judge"/> about each entry in turn (one at a time: a local server runs one request at
    /// a time anyway, and the order stays that of the file); <paramref name="progress"/> gets (done, total).
    /// </summary>
    public static async Task<JudgeResult> JudgeAsync(JudgeClient judge, IReadOnlyList<ResponseEntry> entries,
        Action<int, int>? progress = null, CancellationToken cancellation = default)
    {
        var scores = new List<EntryScore>(entries.Count);
        progress?.Invoke(0, entries.Count);
        foreach (var entry in entries)
        {
            string? answer;
            try
            {
                answer = await judge.AskAsync(JudgePrompt.For(entry), cancellation);
            }
            catch (JudgeException e) when (scores.Count > 0)
            {
                // Past the first entry the server worked once: say where the run stopped.
                throw new JudgeException($"entry {scores.Count} of {entries.Count}: {e.Message}");
            }
            scores.Add(EntryScore.From(answer));
            progress?.Invoke(scores.Count, entries.Count);
        }
        return new JudgeResult(scores);
    }
}
