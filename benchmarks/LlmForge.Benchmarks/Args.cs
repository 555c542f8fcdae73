namespace LlmForge.Benchmarks;

/// <summary>A benchmark's positional arguments, each with its default when left out.</summary>
static class Args
{
    public static string Text(string[] args, int index, string fallback) => args.Length > index ? args[index] : fallback;

    public static int Number(string[] args, int index, int fallback) => args.Length > index ? int.Parse(args[index]) : fallback;
}
