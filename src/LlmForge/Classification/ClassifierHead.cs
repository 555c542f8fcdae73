namespace LlmForge.Classification;

/// <summary>
/// Turns a language model into a classifier (chapter 6): the head to the classes, and what trains.
/// </summary>
public static class ClassifierHead
{
    /// <summary>
    /// Replaces the output head by a linear layer (with bias) to the classes, unless it already has one
    /// output per class (a saved classifier), names the classes, records how texts are read, and wraps the
    /// linear layers with LoRA adapters when asked.
    /// </summary>
    public static void Attach(IClassifierModel model, IReadOnlyList<string> labels, (int PaddedLength, string Pooling) input, ClassificationOptions options)
    {
        if (model.OutputSize != labels.Count)
            model.ReplaceOutputHead(nn.Linear(model.HiddenSize, labels.Count, hasBias: true), labels);
        else
            model.Labels = labels;
        model.ClassifierInput = input;
        if (options.LoraRank is int rank) LoRA.Apply(model, rank, options.LoraAlpha ?? rank);
    }

    /// <summary>
    /// Freezes what does not train (the book: every weight but the last block's, the final norm's and the
    /// head's; with LoRA, every weight but the adapters') and returns how many parameters train.
    /// </summary>
    public static long Freeze(IClassifierModel model, ClassificationOptions options)
    {
        int blocks = model.BlockCount, last = Math.Min(options.LastBlocksTrained, blocks);
        // Without LoRA the final norm and the head always train; with it, only when blocks are asked for too.
        bool headAndNorm = options.LoraRank == null || last > 0;
        bool Trains(string name) =>
            options.TrainAll
            || options.LoraRank != null && LoRA.IsAdapterParameter(name)
            || headAndNorm && (name.StartsWith("final_norm.", StringComparison.Ordinal) || name.StartsWith("out_head.", StringComparison.Ordinal))
            || Enumerable.Range(blocks - last, last).Any(b => name.StartsWith($"trf_blocks.{b}.", StringComparison.Ordinal));
        long trainable = 0;
        foreach (var (name, parameter) in model.Module.named_parameters())
        {
            bool trains = Trains(name);
            parameter.requires_grad = trains;
            if (trains) trainable += parameter.numel();
        }
        return trainable;
    }
}
