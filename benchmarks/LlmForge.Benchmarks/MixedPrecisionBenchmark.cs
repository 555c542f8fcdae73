using System.Text.Json.Nodes;

namespace LlmForge.Benchmarks;

/// <summary>
/// bf16 mixed precision against fp32, both measured now: a small model (4 layers, 128 wide, a
/// 1,024-token BPE trained on the text) pretrained for 200 steps on tinyshakespeare with each, then
/// the validation losses and training rates side by side; and gpt2-small's step rate in both.
/// </summary>
static class MixedPrecisionBenchmark
{
    public static int Run(string[] args)
    {
        int steps = Args.Number(args, 0, 200);
        string data = Path.Combine(Paths.RepoRoot, "..", "shared", "data", "tinyshakespeare.txt");
        string work = Directory.CreateTempSubdirectory("llmforge-bench-bf16").FullName;
        try
        {
            string tokenizer = Path.Combine(work, "tokenizer"), config = Path.Combine(work, "config.json");
            new BpeTrainer().Train(File.ReadAllText(data), 1024).Save(tokenizer);
            File.WriteAllText(config, """{"vocab_size": 1024, "context_length": 64, "emb_dim": 128, "n_heads": 4, "n_layers": 4, "drop_rate": 0.0, "qkv_bias": false}""");
            var results = new Dictionary<string, (double ValLoss, double TokensPerSecond)>();
            foreach (var precision in new[] { "fp32", "bf16" })
            {
                var options = new PretrainingOptions
                {
                    Data = data, Tokenizer = tokenizer, ConfigPath = config, BatchSize = 8, Lr = 1e-3, MaxSteps = steps,
                    EvalEvery = steps, EvalBatches = 50, SaveEvery = steps, SampleTokens = 0, Precision = precision,
                };
                string run = Path.Combine(work, precision);
                double rate = 0;
                using (var trainer = Pretraining.Start(options, run, overwrite: false))
                {
                    trainer.Progress = p => rate = p.TokensPerSecond;
                    trainer.Run();
                }
                var last = JsonNode.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).Last())!;
                results[precision] = (last["val_loss"]!.GetValue<double>(), rate);
                Console.WriteLine($"{precision}: val loss after {steps} steps {results[precision].ValLoss:F4}, {rate:F0} tokens/s (small model, evaluations included)");
            }
            var (fp32, bf16) = (results["fp32"], results["bf16"]);
            Console.WriteLine($"bf16 loss / fp32 loss: {bf16.ValLoss / fp32.ValLoss:F4} (target within 2%: {Math.Abs(bf16.ValLoss / fp32.ValLoss - 1) <= 0.02})");
            Console.WriteLine($"bf16 rate / fp32 rate, small model: {bf16.TokensPerSecond / fp32.TokensPerSecond:F2}x");

            var small = GptConfig.Preset("gpt2-small");
            var f = TrainStepBenchmark.Run(small, 4, 64, steps: 5);
            var b = TrainStepBenchmark.Run(small, 4, 64, steps: 5, mixedPrecision: true);
            Console.WriteLine($"gpt2-small, batch 4, context 64: fp32 {f.MsPerStepMedian:F0} ms/step, bf16 {b.MsPerStepMedian:F0} ms/step: bf16 {f.MsPerStepMedian / b.MsPerStepMedian:F2}x fp32's rate (peak {b.PeakResidentMegabytes:F0} MB)");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
