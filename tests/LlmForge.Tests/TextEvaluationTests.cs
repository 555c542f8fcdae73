using LlmForge.Evaluation;

namespace LlmForge.Tests;

/// <summary>The evaluation loop of <c>llmforge eval</c>, called as a library.</summary>
public class TextEvaluationTests
{
    [Fact]
    public void GivesTheReferenceVerdictLossAndReportsProgress()
    {
        using var loaded = ModelLoader.Load(FixtureModel.Dir);
        int[] ids = loaded.Tokenizer.Encode(File.ReadAllText(TestPaths.Verdict));
        var seen = new List<(int Done, int Total)>();
        var result = TextEvaluation.Evaluate(loaded.Model, ids, 64, 8, (done, total) => seen.Add((done, total)));
        double expected = FixtureModel.Expected.GetProperty("verdict_loss_ctx64").GetDouble();
        Assert.True(Math.Abs(result.Loss - expected) < 1e-4, $"loss {result.Loss}, expected {expected}");
        Assert.Equal((80, 64, 80L * 64), (result.Windows, result.ContextLength, result.Tokens));
        Assert.Equal(Math.Exp(result.Loss), result.Perplexity);
        Assert.Equal(Enumerable.Range(1, 10).Select(b => (8 * b, 80)), seen);
        // A last, smaller batch still counts every window once: the mean is the same.
        Assert.True(Math.Abs(TextEvaluation.Evaluate(loaded.Model, ids, 64, 7).Loss - result.Loss) < 1e-5);
    }

    [Fact]
    public void RefusesWindowsLongerThanTheModelsContext()
    {
        using var loaded = ModelLoader.Load(FixtureModel.Dir);
        var error = Assert.Throws<BadInputException>(() => TextEvaluation.Evaluate(loaded.Model, new int[500], 65, 8));
        Assert.Equal("--context-length 65 is longer than the model's context of 64", error.Message);
        Assert.Contains("needs more than 64 tokens", Assert.Throws<BadInputException>(() => TextEvaluation.Evaluate(loaded.Model, new int[10], 64, 8)).Message);
    }
}
