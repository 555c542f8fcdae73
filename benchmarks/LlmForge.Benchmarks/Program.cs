using LlmForge.Benchmarks;

LlmForge.NativeAllocator.Tune(); // as the CLI does, before any tensor exists

// Benchmarks print their figures; each compares against a baseline measured in the same run.
string which = args.Length > 0 ? args[0] : "tokenize";
switch (which)
{
    case "tokenize":
        return TokenizerBenchmark.Run(args[1..]);
    case "load":
        return LoadMemoryBenchmark.Run(args[1..]);
    case "load-child":
        return LoadMemoryBenchmark.Child(args[1]);
    case "train":
        return TrainingBenchmark.Run(args[1..]);
    case "generate":
        return GenerationBenchmark.Run(args[1..]);
    case "bf16":
        return MixedPrecisionBenchmark.Run(args[1..]);
    default:
        Console.Error.WriteLine($"unknown benchmark '{which}'; available: tokenize, generate, train, bf16, load");
        return 2;
}
