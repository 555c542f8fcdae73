using System.Diagnostics;
using static TorchSharp.torch;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What <see cref="TrainStepBenchmark"/> measured (the JSON of <c>llmforge bench train</c>).</summary>
public sealed record TrainStepResult(
    double MsPerStepMedian, double MsPerStepMin, double MsPerStepMax, double TokensPerSecond,
    double AchievedGflops, double MatmulGflops, double Mfu, long Parameters, double PeakResidentMegabytes);

/// <summary>
/// Training steps (forward, backward, AdamW) on random tokens, timed after warm-up, in fp32 or bf16
/// mixed precision (<see cref="MixedPrecision"/>; the matmul rate stays fp32's, so MFU compares with fp32). FLOPs per step
/// count 6 × parameters × tokens (output head included) plus the attention's 12 × layers × T × emb
/// per token; MFU divides the achieved rate by a large fp32 matrix product's rate from the same run.
/// </summary>
public static class TrainStepBenchmark
{
    /// <param name="progress">told (step done, all steps) after each step, warm-up included.</param>
    public static TrainStepResult Run(GptConfig config, int batchSize, int contextLength, int steps = 10, int warmups = 2, bool mixedPrecision = false,
        Action<int, int>? progress = null, string device = "cpu")
    {
        if (contextLength > config.ContextLength)
            throw new BadInputException($"--context-length {contextLength} is longer than the model's context of {config.ContextLength}");
        // Before any tensor: libtorch would fail inside its allocator with a native trace.
        MemoryBudget.Require(MemoryBudget.TrainingBytes(config, batchSize, contextLength, mixedPrecision),
            $"a training step on batches of {batchSize:N0} × {contextLength:N0} tokens ({MemoryBudget.WeightBytes(config) / sizeof(float):N0} parameters; weights, gradients, AdamW state and activations)");
        if ((long)batchSize * contextLength > int.MaxValue)
            throw new BadInputException($"--batch-size {batchSize} × --context-length {contextLength} is more than {int.MaxValue:N0} tokens a batch");
        manual_seed(123);
        using var model = new GptModel(config with { DropRate = 0 });
        return Measure(model, config.VocabSize, 12.0 * config.NLayers * contextLength * config.EmbDim, batchSize, contextLength, steps, warmups, mixedPrecision, progress, device);
    }

    /// <summary>
    /// The same measurement for a Llama 3 / Qwen3 model: its attention term counts the query heads' width
    /// (heads × head size), which Qwen3 sets apart from the hidden size.
    /// </summary>
    public static TrainStepResult Run(LlamaConfig config, int batchSize, int contextLength, int steps = 10, int warmups = 2, bool mixedPrecision = false,
        Action<int, int>? progress = null, string device = "cpu")
    {
        if (contextLength > config.ContextLength)
            throw new BadInputException($"--context-length {contextLength} is longer than the model's context of {config.ContextLength}");
        long parameters = config.ParameterCount();
        long tokens = (long)batchSize * contextLength;
        // fp32 weights, gradients and AdamW's two moments, and per token the logits with their gradient and each block's saved activations.
        double activations = tokens * (3.0 * config.VocabSize + config.NumLayers * (8.0 * config.HiddenSize + 3.0 * config.IntermediateSize + 2.0 * config.NumHeads * contextLength)) * sizeof(float);
        MemoryBudget.Require(16.0 * parameters + activations,
            $"a training step on batches of {batchSize:N0} × {contextLength:N0} tokens ({parameters:N0} parameters; weights, gradients, AdamW state and activations)");
        manual_seed(123);
        using var model = new LlamaModel(config);
        return Measure(model, config.VocabSize, 12.0 * config.NumLayers * contextLength * config.NumHeads * config.HeadDim, batchSize, contextLength, steps, warmups, mixedPrecision, progress, device);
    }

    static TrainStepResult Measure(ILanguageModel model, int vocabSize, double attentionFlopsPerToken, int batchSize, int contextLength, int steps, int warmups,
        bool mixedPrecision, Action<int, int>? progress, string device)
    {
        double matmul = Timing.MatmulGflops();
        ComputeDevice.MoveTo(model, device);
        model.Module.train();
        using var optimizer = AdamW.For(model, lr: 1e-4, weightDecay: 0.1);
        using var mixed = mixedPrecision ? new MixedPrecision(model) : null;
        // The very step every trainer takes, with pretraining's next-token loss.
        var trainingStep = new TrainingStep<TokenBatch>(model, optimizer, Pretraining.NextTokenLoss, mixed);
        var random = new SplitMix64(7);
        long[] Tokens() => Enumerable.Range(0, batchSize * contextLength).Select(_ => (long)random.NextInt(vocabSize)).ToArray();

        var times = new List<double>();
        for (int step = 0; step < warmups + steps; step++)
        {
            var batch = new TokenBatch(Tokens(), Tokens(), batchSize, contextLength);
            var clock = Stopwatch.StartNew();
            trainingStep.Run([batch], learningRate: 1e-4, dropoutSeed: step);
            if (step >= warmups) times.Add(clock.Elapsed.TotalSeconds);
            progress?.Invoke(step + 1, warmups + steps);
        }
        long parameters = model.Module.parameters().Sum(p => p.numel());
        double tokens = batchSize * contextLength;
        double flopsPerToken = 6.0 * parameters + attentionFlopsPerToken;
        double median = Timing.Median(times);
        double achieved = flopsPerToken * tokens / median / 1e9;
        using var process = Process.GetCurrentProcess();
        return new TrainStepResult(median * 1000, times.Min() * 1000, times.Max() * 1000, tokens / median,
            achieved, matmul, achieved / matmul, parameters, process.PeakWorkingSet64 / 1048576.0);
    }
}
