using LlmForge.Training;
namespace LlmForge.Classification;

/// <summary>A classifier's fine-tuning run: its trainer and its data, and the accuracies it reaches.</summary>
public sealed class ClassifierRun(Trainer<ClassificationBatch> trainer, ClassificationData data) : IDisposable
{
    public Trainer<ClassificationBatch> Trainer => trainer;

    public ClassificationData Data => data;

    ClassificationOptions Options => (ClassificationOptions)trainer.Options;

    /// <summary>
    /// Accuracy on every example of the three sets, in file order, in eval mode: from the model of the best
    /// validation accuracy with <c>--keep-best</c> (<c>RUN/best/</c>), else from the model as trained.
    /// </summary>
    public ClassificationAccuracies Accuracies()
    {
        var pooling = Options.Pooling == "mean" ? ClassificationPooling.Mean : ClassificationPooling.Last;
        string best = Path.Combine(trainer.RunDirectory, RunFiles.Best);
        using var loaded = Options.KeepBest && Directory.Exists(best) ? ModelLoader.Load(best) : null;
        ILanguageModel model = loaded?.Model ?? trainer.Model;
        if (loaded != null) ComputeDevice.MoveTo(model, ComputeDevice.Resolve(Options.Device));
        double Of(ClassificationDataset set) => ClassificationMetrics.Accuracy(model, new ClassificationLoader(set, Options.BatchSize, shuffle: false, dropLast: false), null, pooling);
        return new ClassificationAccuracies(Of(data.Train), Of(data.Validation), Of(data.Test), loaded != null ? best : null);
    }

    public void Dispose() => trainer.Dispose();
}

/// <summary>Accuracies on the three sets (fractions), and the checkpoint they come from when it is not the last.</summary>
public sealed record ClassificationAccuracies(double Train, double Validation, double Test, string? FromCheckpoint);
