using LlmForge.Benchmarks;

LlmForge.NativeAllocator.Tune(); // as the CLI does, before any tensor exists

// Benchmarks print their figures; each compares against a baseline measured in the same run.
var benchmarks = new Dictionary<string, Func<string[], int>>
{
    ["tokenize"] = TokenizerBenchmark.Run,
    ["hf-tokenize"] = HfTokenizerBenchmark.Run,
    ["generate"] = GenerationBenchmark.Run,
    ["decode"] = DecodeBreakdownBenchmark.Run,
    ["train"] = TrainingBenchmark.Run,
    ["bf16"] = MixedPrecisionBenchmark.Run,
    ["load"] = LoadMemoryBenchmark.Run,
    ["classify"] = ClassificationBenchmark.Run,
    ["load-child"] = rest => LoadMemoryBenchmark.Child(rest[0]), // the measured process of "load"
    ["llama"] = LlamaBenchmark.Run,
    ["llama-load"] = LlamaBenchmark.Load,
    ["llama-load-child"] = LlamaBenchmark.LoadChild, // the measured process of "llama-load"
};
string which = args.Length > 0 ? args[0] : "tokenize";
if (benchmarks.TryGetValue(which, out var run)) return run(args.Length > 0 ? args[1..] : []);
Console.Error.WriteLine($"unknown benchmark '{which}'; available: tokenize, hf-tokenize, generate, decode, train, bf16, load, classify, llama, llama-load");
return 2;
