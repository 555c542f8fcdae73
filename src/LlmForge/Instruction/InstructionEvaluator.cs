using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Instruction;

/// <summary>
/// Chapter 7's evaluation: the mean loss over a few batches of the training and validation sets, and
/// the model's greedy response to the first validation entry (the book's <c>generate_and_print_sample</c>),
/// appended to <c>samples.txt</c>, one block per evaluation.
/// </summary>
public sealed class InstructionEvaluator(string runDir, InstructionLoader train, InstructionLoader? validation, int batches,
    ITokenizer tokenizer, InstructionEntry? sample, int sampleTokens) : IEvaluator
{
    readonly SampleLog _samples = new(Path.Combine(runDir, RunFiles.Samples));

    public string Evaluate(ILanguageModel model, long step, JsonObject entry)
    {
        double trainLoss = InstructionMetrics.MeanLoss(model, train, batches);
        entry["eval_train_loss"] = Math.Round(trainLoss, 6);
        string report = $"step {step}: train loss {trainLoss:F3}";
        if (validation is { Count: > 0 })
        {
            double valLoss = InstructionMetrics.MeanLoss(model, validation, batches);
            entry["val_loss"] = Math.Round(valLoss, 6);
            report += $", val loss {valLoss:F3}";
        }
        if (sample != null && sampleTokens > 0)
        {
            try
            {
                string response = InstructionResponses.Respond(model, tokenizer, sample, sampleTokens);
                _samples.Append(step, $"{AlpacaPrompt.Format(sample)}{AlpacaPrompt.ResponseHeader}{response}");
            }
            catch (NonFiniteLogitsException)
            {
                report += "; no sample, the model's logits are not finite";
            }
        }
        return report;
    }

    public void ContinueFrom(long step) => _samples.TruncateAfter(step);

    public void Plot(IReadOnlyList<JsonObject> entries) => LossPlot.Save(Path.Combine(runDir, RunFiles.Plot), entries);
}
