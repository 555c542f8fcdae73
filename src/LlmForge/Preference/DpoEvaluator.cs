using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Preference;

/// <summary>
/// DPO's evaluation (the book's <c>evaluate_dpo_loss_loader</c>): the loss and the chosen and rejected
/// rewards over a few batches of the training and validation sets, the margin between them, and the
/// step's own rewards in every metrics line; <c>loss.png</c> and <c>rewards.png</c>.
/// </summary>
public sealed class DpoEvaluator(string runDir, DpoLoss loss, PreferenceLoader train, PreferenceLoader? validation, int batches) : IEvaluator
{
    public string SeenKey => "pairs_seen";

    public void AfterStep(JsonObject entry) => loss.RecordStep(entry);

    public string Evaluate(ILanguageModel model, long step, JsonObject entry)
    {
        var onTrain = DpoEvaluation.Evaluate(model, loss, train, batches);
        entry["eval_train_loss"] = Math.Round(onTrain.Loss, 6);
        entry["train_reward_margin"] = Math.Round(onTrain.Margin, 6);
        string report = $"step {step}: train loss {onTrain.Loss:F3}, reward margin {onTrain.Margin:F3}";
        if (validation is { Count: > 0 })
        {
            var onValidation = DpoEvaluation.Evaluate(model, loss, validation, batches);
            entry["val_loss"] = Math.Round(onValidation.Loss, 6);
            entry["val_chosen_reward"] = Math.Round(onValidation.ChosenReward, 6);
            entry["val_rejected_reward"] = Math.Round(onValidation.RejectedReward, 6);
            entry["val_reward_margin"] = Math.Round(onValidation.Margin, 6);
            report += $"; val loss {onValidation.Loss:F3}, reward margin {onValidation.Margin:F3}";
        }
        return report;
    }

    public void Plot(IReadOnlyList<JsonObject> entries)
    {
        LossPlot.Save(Path.Combine(runDir, RunFiles.Plot), entries, SeenKey);
        MetricsPlot.Save(Path.Combine(runDir, RunFiles.RewardsPlot), entries, SeenKey, "reward (policy − reference log-probability)",
        [
            ("chosen_reward", "chosen (each step)", true),
            ("rejected_reward", "rejected (each step)", true),
            ("train_reward_margin", "margin, training (evaluation)", false),
            ("val_reward_margin", "margin, validation (evaluation)", false),
        ]);
    }
}
