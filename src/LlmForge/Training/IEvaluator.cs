using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// How a trainer judges its model along the way (the book's <c>evaluate_model</c>): pretraining's
/// losses and sample text, a classifier's losses and accuracies. The trainer calls it at every
/// evaluation, with the model in eval mode, and logs the line it returns.
/// </summary>
public interface IEvaluator
{
    /// <summary>
    /// The metrics key of what the batch losses count, summed over the run: <c>tokens_seen</c> for
    /// pretraining, <c>examples_seen</c> for a classifier. Also the plots' x axis.
    /// </summary>
    string SeenKey => "tokens_seen";

    /// <summary>Evaluates <paramref name="model"/> after <paramref name="step"/> steps, records the figures in <paramref name="entry"/>, returns a one-line report.</summary>
    string Evaluate(ILanguageModel model, long step, JsonObject entry);

    /// <summary>Adds figures of the step just taken (besides its <c>train_loss</c>) to its metrics line, such as DPO's rewards.</summary>
    void AfterStep(JsonObject entry) { }

    /// <summary>A run (re)starts at <paramref name="step"/>: whatever was written for later steps goes.</summary>
    void ContinueFrom(long step) { }

    /// <summary>Saves the plots of <paramref name="entries"/> (every metrics line so far) in the run directory.</summary>
    void Plot(IReadOnlyList<JsonObject> entries);
}
