using LlmForge.Interop;

namespace LlmForge.Benchmarks;

/// <summary>
/// Peak resident memory of loading a gpt2-large-shaped checkpoint (774M parameters, about 3.1 GB of
/// fp32 safetensors in the Hugging Face layout), as a ratio to the file's size. The file is made once
/// with random weights; the load runs in a fresh child process so that its peak is the load's own.
/// </summary>
static class LoadMemoryBenchmark
{
    public static int Run(string[] args)
    {
        string preset = Args.Text(args, 0, "gpt2-large");
        string directory = Args.Text(args, 1, Path.Combine(Path.GetTempPath(), $"llmforge-synthetic-{preset}"));
        string weights = Path.Combine(directory, "model.safetensors");
        if (!File.Exists(weights))
        {
            Console.WriteLine($"writing a synthetic {preset} checkpoint to {directory} ...");
            manual_seed(1);
            using var model = new GptModel(GptConfig.Preset(preset));
            HfGpt2Export.Export(model, directory, overwrite: true);
        }
        long size = new FileInfo(weights).Length;
        var child = Process.Start(new ProcessStartInfo("dotnet", [typeof(LoadMemoryBenchmark).Assembly.Location, "load-child", directory])
        {
            RedirectStandardOutput = true,
        })!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var fields = output.Trim().Split(' ');
        double peak = double.Parse(fields[0]), seconds = double.Parse(fields[1]);
        Console.WriteLine($"checkpoint: {size / 1e9:F2} GB ({preset}, fp32)");
        Console.WriteLine($"load time: {seconds:F1} s");
        Console.WriteLine($"peak resident memory of the loading process: {peak / 1e9:F2} GB");
        Console.WriteLine($"ratio to the checkpoint size: {peak / size:F2} (target at most 1.3)");
        return 0;
    }

    /// <summary>In the child: load, then print peak resident bytes (VmHWM) and seconds.</summary>
    public static int Child(string directory)
    {
        var clock = Stopwatch.StartNew();
        using var loaded = ModelLoader.Load(directory);
        double seconds = clock.Elapsed.TotalSeconds;
        string hwm = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:"));
        long kilobytes = long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        Console.WriteLine($"{kilobytes * 1024} {seconds}");
        return 0;
    }
}
