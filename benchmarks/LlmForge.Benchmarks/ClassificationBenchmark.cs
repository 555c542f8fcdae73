namespace LlmForge.Benchmarks;

/// <summary>
/// The small spam-classifier recipe from random weights (2 layers, 128 wide, 4 heads, context 128,
/// every weight trained, lr 5e-4, batch 8, seed 123, balanced SMS data), run as the book's loop runs it:
/// 4 epochs, then accuracy on all three sets after each. Prints the wall time and training examples per
/// second. The book's PyTorch loop for the same model and data took 42 s on a machine like this one
/// (PyTorch is not installed here, so that figure is quoted, not measured in this run).
/// </summary>
static class ClassificationBenchmark
{
    const double BookPyTorchSeconds = 42;

    public static int Run(string[] args)
    {
        int epochs = Args.Number(args, 0, 4);
        string data = Path.Combine(Paths.RepoRoot, "..", "shared", "data", "SMSSpamCollection.tsv");
        var clock = Stopwatch.StartNew();
        var splits = ClassificationSplits.FromFile(LabelledText.ReadTsv(data), balance: true, seed: 123);
        var encoded = ClassificationData.Encode(splits, TokenizerLoader.Gpt2Default, contextLength: 128);
        manual_seed(123);
        using var model = new GptModel(new GptConfig { VocabSize = 50257, ContextLength = 128, EmbDim = 128, NHeads = 4, NLayers = 2, DropRate = 0.0 });
        model.ReplaceOutputHead(nn.Linear(128, 2, hasBias: true), encoded.Labels.Names);
        using var optimizer = AdamW.For(model, lr: 5e-4, weightDecay: 0.1);
        var step = new TrainingStep<ClassificationBatch>(model, optimizer, ClassificationLoss.LastPosition);
        var train = new ClassificationLoader(encoded.Train, 8, shuffle: true, dropLast: true, seed: 123);
        ClassificationLoader InOrder(ClassificationDataset set) => new(set, 8, shuffle: false, dropLast: false);
        double setup = clock.Elapsed.TotalSeconds, training = 0;
        long examples = 0;
        Console.WriteLine($"{encoded.Train.Count} / {encoded.Validation.Count} / {encoded.Test.Count} examples of {encoded.PaddedLength} ids; {model.ParameterCount():N0} parameters; {get_num_threads()} threads; setup {setup:F1} s");
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var started = Stopwatch.StartNew();
            model.train();
            long seed = 0;
            foreach (var batch in train.Batches(epoch))
            {
                step.Run([batch], 5e-4, seed++);
                examples += batch.BatchSize;
            }
            training += started.Elapsed.TotalSeconds;
            double Accuracy(ClassificationDataset set) => ClassificationMetrics.Accuracy(model, InOrder(set));
            Console.WriteLine($"epoch {epoch + 1}: train {Accuracy(encoded.Train):P1}, validation {Accuracy(encoded.Validation):P1}, test {Accuracy(encoded.Test):P1}  ({clock.Elapsed.TotalSeconds:F1} s)");
        }
        double total = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"training: {examples:N0} examples in {training:F1} s = {examples / training:F0} examples/s");
        Console.WriteLine($"total with the evaluations: {total:F1} s; the book's PyTorch loop: {BookPyTorchSeconds:F0} s (quoted) -> {BookPyTorchSeconds / total:F2}x");
        return 0;
    }
}
