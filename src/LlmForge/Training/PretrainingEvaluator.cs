using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// The book's <c>evaluate_model</c> and <c>generate_and_print_sample</c>: the mean loss over a few
/// batches of each split (<c>eval_train_loss</c>, <c>val_loss</c>), and a greedy sample from the prompt
/// appended to <c>samples.txt</c>, one block per evaluation.
/// </summary>
public sealed class PretrainingEvaluator(string runDir, DataLoader train, DataLoader? val, int batches,
    ITokenizer tokenizer, string samplePrompt, int sampleTokens) : IEvaluator
{
    readonly SampleLog _samples = new(Path.Combine(runDir, RunFiles.Samples));

    public string Evaluate(ILanguageModel model, long step, JsonObject entry)
    {
        double trainEstimate = Loss.CalcLossLoader(model, train, batches, model.Device);
        entry["eval_train_loss"] = Math.Round(trainEstimate, 6);
        string report = $"step {step}: train loss {trainEstimate:F3}";
        if (val != null)
        {
            double valLoss = Loss.CalcLossLoader(model, val, batches, model.Device);
            entry["val_loss"] = Math.Round(valLoss, 6);
            report += $", val loss {valLoss:F3}";
        }
        if (sampleTokens > 0 && samplePrompt.Length > 0) report = Sample(model, step, report);
        return report;
    }

    string Sample(ILanguageModel model, long step, string report)
    {
        int[] prompt = tokenizer.Encode(samplePrompt);
        int[] ids;
        try
        {
            ids = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = sampleTokens }).ToArray();
        }
        catch (NonFiniteLogitsException)
        {
            // The weights went bad: no sample; the step's checks stop the run before anything is saved.
            return report + "; no sample, the model's logits are not finite";
        }
        // One block per sample, its newlines kept: a header line, the text, a blank line.
        _samples.Append(step, tokenizer.Decode([.. prompt, .. ids]));
        return report;
    }

    public void Plot(IReadOnlyList<JsonObject> entries) => LossPlot.Save(Path.Combine(runDir, RunFiles.Plot), entries);

    public void ContinueFrom(long step) => _samples.TruncateAfter(step);
}
