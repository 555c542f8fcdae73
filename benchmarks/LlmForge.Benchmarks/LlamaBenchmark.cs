using LlmForge.Generation;
using LlmForge.Interop;
using LlmForge.Model.Llama;

namespace LlmForge.Benchmarks;

/// <summary>
/// A Llama-family model with a preset's real shapes and random weights (Qwen3-0.6B by default), in fp32 and bf16,
/// on 1 and 2 threads: time to the first token of a long prompt (the prefill), then tokens per second with the KV
/// cache, greedy, through <see cref="TextGenerator"/> as <c>generate</c> runs it. Each figure is given as the range
/// over the repeats (a shared machine's neighbours show in it). <c>llama-load</c> measures the peak memory of
/// loading such a model from the Hugging Face layout, in a fresh child process.
/// </summary>
static class LlamaBenchmark
{
    /// <summary><c>llama [preset] [new tokens] [prompt tokens] [repeats]</c>.</summary>
    public static int Run(string[] args)
    {
        string preset = Args.Text(args, 0, "qwen3-0.6b");
        int newTokens = Args.Number(args, 1, 32);
        int promptTokens = Args.Number(args, 2, 512);
        int repeats = Args.Number(args, 3, 3);
        var config = LlamaConfig.TryPreset(preset) ?? throw new ArgumentException($"unknown preset {preset}");
        // The rotary tables need only the positions used.
        config = config with { ContextLength = Math.Min(config.ContextLength, promptTokens + newTokens) };
        int threads = get_num_threads();
        Console.WriteLine($"{preset} ({config.ParameterCount():N0} parameters, random weights), {promptTokens}-token prompt, {newTokens} new tokens, greedy, {repeats} repeats");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            manual_seed(1);
            var clock = Stopwatch.StartNew();
            using var model = new LlamaModel(config, dtype);
            model.eval();
            Console.WriteLine($"{dtype}: built in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (int n in new[] { 1, 2 })
            {
                set_num_threads(n);
                Once(model, 16, 4); // warm-up: first calls allocate and pick kernels
                var runs = Enumerable.Range(0, repeats).Select(_ => Once(model, promptTokens, newTokens)).ToList();
                Console.WriteLine($"  {n} thread{(n > 1 ? "s" : " ")}: first token after {Range(runs.Select(r => r.FirstToken))} s, then {Range(runs.Select(r => r.TokensPerSecond))} tokens/s");
            }
        }
        set_num_threads(threads);
        return 0;
    }

    /// <summary>One generation: seconds to the first new token, then the rate of the rest.</summary>
    static (double FirstToken, double TokensPerSecond) Once(LlamaModel model, int promptTokens, int newTokens)
    {
        var random = new Random(promptTokens);
        int[] prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
        var clock = Stopwatch.StartNew();
        double first = 0;
        int count = 0;
        foreach (int _ in TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = newTokens }))
            if (count++ == 0)
            {
                first = clock.Elapsed.TotalSeconds;
                clock.Restart();
            }
        return (first, (count - 1) / clock.Elapsed.TotalSeconds);
    }

    static string Range(IEnumerable<double> values)
    {
        var list = values.ToList();
        string format = list.Max() >= 10 ? "F1" : "F2";
        return $"{list.Min().ToString(format)}-{list.Max().ToString(format)}";
    }

    /// <summary>
    /// <c>llama-load [preset] [directory]</c>: writes the preset with random weights in the Hugging Face layout (bf16,
    /// and fp32 in a second directory) once, then loads bf16 → bf16, bf16 → fp32 and fp32 → bf16 in child processes
    /// and prints each one's peak resident memory against the loaded weights' size.
    /// </summary>
    public static int Load(string[] args)
    {
        string preset = Args.Text(args, 0, "qwen3-0.6b");
        string root = Args.Text(args, 1, Path.Combine(Path.GetTempPath(), $"llmforge-synthetic-{preset}"));
        var config = LlamaConfig.TryPreset(preset) ?? throw new ArgumentException($"unknown preset {preset}");
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float32 })
        {
            string directory = $"{root}-{LlamaModel.DTypeName(dtype)}";
            if (File.Exists(Path.Combine(directory, LlamaHfExport.Weights))) continue;
            Console.WriteLine($"writing a random {preset} in {LlamaModel.DTypeName(dtype)} to {directory} ...");
            manual_seed(1);
            using var model = new LlamaModel(config, dtype);
            LlamaHfExport.Save(model, directory);
        }
        foreach (var (file, loaded) in new[] { (ScalarType.BFloat16, ScalarType.BFloat16), (ScalarType.BFloat16, ScalarType.Float32), (ScalarType.Float32, ScalarType.BFloat16) })
        {
            string directory = $"{root}-{LlamaModel.DTypeName(file)}";
            var child = Process.Start(new ProcessStartInfo("dotnet", [Environment.GetCommandLineArgs()[0], "llama-load-child", directory, loaded.ToString()])
            {
                RedirectStandardOutput = true,
            })!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            var fields = output.Trim().Split(' ');
            double peak = double.Parse(fields[0]), before = double.Parse(fields[1]), seconds = double.Parse(fields[2]);
            double weights = (double)config.ParameterCount() * LlamaModel.ElementSize(loaded);
            Console.WriteLine($"{LlamaModel.DTypeName(file)} file -> {LlamaModel.DTypeName(loaded)} model: {seconds:F1} s, weights {weights / 1e9:F2} GB, "
                + $"peak resident {peak / 1e9:F2} GB ({before / 1e9:F2} GB before loading): peak / weights {peak / weights:F2}, growth / weights {(peak - before) / weights:F2}");
        }
        return 0;
    }

    /// <summary>In the child: load, then print peak resident bytes (VmHWM), resident bytes before loading, and seconds.</summary>
    public static int LoadChild(string[] args)
    {
        var dtype = Enum.Parse<ScalarType>(args[1]);
        using (ones(1)) { } // libtorch loaded and initialised before the baseline
        long before = Status("VmRSS:");
        var clock = Stopwatch.StartNew();
        using var model = LlamaLoader.Load(args[0], dtype);
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"{Status("VmHWM:")} {before} {seconds}");
        return 0;
    }

    static long Status(string key)
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
