namespace LlmForge.Benchmarks;

/// <summary>
/// Resident memory of a small model's training over 1,000 steps, then <c>llmforge bench train</c>'s
/// figures for gpt2-small at batch 4, context 64 (llm.c's CPU quick start).
/// </summary>
static class TrainingBenchmark
{
    public static int Run(string[] args)
    {
        string preset = Args.Text(args, 0, "gpt2-small");
        int batch = Args.Number(args, 1, 4);
        int context = Args.Number(args, 2, 64);
        int steps = Args.Number(args, 3, 10);
        Console.WriteLine($"{preset}, batch {batch}, context {context}, {steps} timed steps after 2 warm-up, fp32, {get_num_threads()} threads");

        // The small model first, so that its memory is not measured on top of the large one's.
        MemoryOverTime();
        var r = TrainStepBenchmark.Run(GptConfig.Preset(preset), batch, context, steps);
        Console.WriteLine($"fp32 matmul (2048³): {r.MatmulGflops:F1} GFLOP/s");
        Console.WriteLine($"parameters: {r.Parameters:N0}");
        Console.WriteLine($"ms per step: median {r.MsPerStepMedian:F0}, min {r.MsPerStepMin:F0}, max {r.MsPerStepMax:F0}");
        Console.WriteLine($"tokens per second: {r.TokensPerSecond:F0}");
        Console.WriteLine($"achieved: {r.AchievedGflops:F1} GFLOP/s = {r.Mfu:F2} of the matmul rate (MFU)");
        Console.WriteLine($"peak resident memory: {r.PeakResidentMegabytes:F0} MB");
        return 0;
    }

    /// <summary>A small model trained for 1,000 steps: memory must stay flat (within 5% between step 100 and 1,000).</summary>
    static void MemoryOverTime()
    {
        manual_seed(1);
        var config = new GptConfig { VocabSize = 50257, ContextLength = 32, EmbDim = 64, NHeads = 4, NLayers = 2, DropRate = 0.1 };
        using var model = new GptModel(config);
        model.train();
        using var optimizer = AdamW.For(model, lr: 1e-4);
        var trainingStep = new TrainingStep<TokenBatch>(model, optimizer, Pretraining.NextTokenLoss, gradClip: 1.0);
        var random = new SplitMix64(9);
        var resident = new SortedDictionary<int, double>();
        for (int step = 1; step <= 1000; step++)
        {
            var tokens = Enumerable.Range(0, 4 * 32).Select(_ => (long)random.NextInt(50257)).ToArray();
            var batch = new TokenBatch(tokens, tokens, 4, 32);
            trainingStep.Run([batch], 1e-4, dropoutSeed: step);
            if (step % 100 == 0) resident[step] = Measure.ResidentMegabytes();
        }
        Console.WriteLine($"small model, resident MB every 100 steps: {string.Join(", ", resident.Values.Select(v => v.ToString("F0")))}");
        Console.WriteLine($"after 1,000 steps against after 100: {(resident[1000] / resident[100] - 1) * 100:+0.0;-0.0}%");
    }
}
