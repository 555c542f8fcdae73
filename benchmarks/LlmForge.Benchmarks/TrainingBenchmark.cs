using System.Diagnostics;
using LlmForge.Data;
using LlmForge.Model;
using LlmForge.Training;
using static TorchSharp.torch;

namespace LlmForge.Benchmarks;

/// <summary>
/// Training speed of gpt2-small at batch 4, context 64 (llm.c's CPU quick start) on random tokens:
/// milliseconds per step (forward, backward, AdamW), tokens per second, and the achieved FLOP rate
/// (6 × parameters × tokens) as a fraction of a large fp32 matrix product's rate measured in the
/// same run. Then resident memory of a small model's training after 100 and 1,000 steps.
/// </summary>
static class TrainingBenchmark
{
    public static int Run(string[] args)
    {
        string preset = args.Length > 0 ? args[0] : "gpt2-small";
        int batch = args.Length > 1 ? int.Parse(args[1]) : 4;
        int context = args.Length > 2 ? int.Parse(args[2]) : 64;
        int steps = args.Length > 3 ? int.Parse(args[3]) : 10;
        Console.WriteLine($"{preset}, batch {batch}, context {context}, {steps} timed steps after 2 warm-up, fp32, {get_num_threads()} threads");

        // The small model first, so that its memory is not measured on top of the large one's.
        MemoryOverTime();
        double matmul = MatmulGflops();
        Console.WriteLine($"fp32 matmul (2048³): {matmul:F1} GFLOP/s");

        manual_seed(123);
        using var model = new GptModel(GptConfig.Preset(preset) with { DropRate = 0 });
        model.train();
        long parameters = model.ParameterCount();
        using var optimizer = AdamW.For(model, lr: 1e-4, weightDecay: 0.1);
        var random = new SplitMix64(7);
        long[] RandomTokens() => Enumerable.Range(0, batch * context).Select(_ => (long)random.NextInt(50257)).ToArray();

        var times = new List<double>();
        for (int step = 0; step < steps + 2; step++)
        {
            var batchData = new TokenBatch(RandomTokens(), RandomTokens(), batch, context);
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope())
            {
                optimizer.ZeroGrad();
                var loss = Loss.CalcLossBatch(model, batchData.InputTensor(), batchData.TargetTensor());
                loss.backward();
                optimizer.Step();
            }
            if (step >= 2) times.Add(clock.Elapsed.TotalSeconds);
        }
        double median = Measure.Median([.. times]);
        double tokens = batch * context;
        double achieved = 6.0 * parameters * tokens / median / 1e9;
        Console.WriteLine($"parameters: {parameters:N0}");
        Console.WriteLine($"ms per step: median {median * 1000:F0}, min {times.Min() * 1000:F0}, max {times.Max() * 1000:F0}");
        Console.WriteLine($"tokens per second: {tokens / median:F0}");
        Console.WriteLine($"achieved: {achieved:F1} GFLOP/s = {achieved / matmul:F2} of the matmul rate (MFU)");
        Console.WriteLine($"peak resident memory: {PeakResidentMegabytes():F0} MB");
        return 0;
    }

    static double MatmulGflops()
    {
        const int n = 2048;
        using var a = randn(n, n);
        using var b = randn(n, n);
        for (int i = 0; i < 2; i++) matmul(a, b).Dispose();
        var times = Measure.Seconds(() => matmul(a, b).Dispose(), 0, 7);
        return 2.0 * n * n * n / Measure.Median(times) / 1e9;
    }

    /// <summary>A small model trained for 1,000 steps: memory must stay flat (within 5% between step 100 and 1,000).</summary>
    static void MemoryOverTime()
    {
        manual_seed(1);
        var config = new GptConfig { VocabSize = 50257, ContextLength = 32, EmbDim = 64, NHeads = 4, NLayers = 2, DropRate = 0.1 };
        using var model = new GptModel(config);
        model.train();
        using var optimizer = AdamW.For(model, lr: 1e-4);
        var random = new SplitMix64(9);
        var resident = new SortedDictionary<int, double>();
        for (int step = 1; step <= 1000; step++)
        {
            var tokens = Enumerable.Range(0, 4 * 32).Select(_ => (long)random.NextInt(50257)).ToArray();
            var batch = new TokenBatch(tokens, tokens, 4, 32);
            using (var scope = NewDisposeScope())
            {
                optimizer.ZeroGrad();
                var loss = Loss.CalcLossBatch(model, batch.InputTensor(), batch.TargetTensor());
                loss.backward();
                GradientClipping.ClipGradNorm(model.parameters(), 1.0);
                optimizer.Step();
            }
            if (step % 100 == 0) resident[step] = Measure.ResidentMegabytes();
        }
        Console.WriteLine($"small model, resident MB every 100 steps: {string.Join(", ", resident.Values.Select(v => v.ToString("F0")))}");
        Console.WriteLine($"after 1,000 steps against after 100: {(resident[1000] / resident[100] - 1) * 100:+0.0;-0.0}%");
    }



    static double PeakResidentMegabytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / 1048576.0;
    }
}
