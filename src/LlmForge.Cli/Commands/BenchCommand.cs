using LlmForge.Cli.Benchmarks;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge bench</c>: speed on this machine, each figure beside a baseline measured in the same run.</summary>
static class BenchCommand
{
    public static Command Create() => new("bench", "Measure training, generation and tokenizer speed here.") { Train(), Generate(), Tokenize(), Serve() };


    /// <summary>Figures from a Debug build mislead (no JIT optimisation): said beside them, once they are measured.</summary>
    static void WarnIfDebugBuild()
    {
        if (BuildKind.IsDebug)
            Cli.Warn("these figures come from a Debug build of llmforge (no JIT optimisation) and understate a Release build's; build with -c Release to benchmark");
    }

    static Command Train()
    {
        // The model, batch, precision and device options are pretraining's own (random weights only).
        var shared = new TrainingOptionSet(new Training.PretrainingOptions { BatchSize = 4 }, "");
        var (preset, config, batchSize, dtype, device) = (shared.Preset, shared.Config, shared.BatchSize, shared.DType, shared.Device);
        batchSize.Description = "windows per step (default 4)";
        var contextLength = TextOptions.PositiveInt("--context-length", "tokens per window (default 64)", 64);
        var steps = TextOptions.PositiveInt("--steps", "timed steps after 2 warm-up steps (default 10)", 10);
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("train", "Time training steps (forward, backward, AdamW) on random tokens.") { preset, config, batchSize, contextLength, steps, dtype, device, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            bool mixed = ModelOptions.ParseTrainingPrecision(parse.GetValue(dtype)) == "bf16";
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            if (parse.GetValue(batchSize) < 1) throw new BadInputException($"--batch-size must be at least 1, got {parse.GetValue(batchSize)}");
            if (parse.GetValue(preset) != null && parse.GetValue(config) != null) throw new BadInputException("give one of --preset and --config");
            var family = Training.ModelChoice.LlamaFamilyConfig(parse.GetValue(preset), parse.GetValue(config));
            var chosen = family == null ? Training.ModelChoice.RandomConfig(parse.GetValue(preset), parse.GetValue(config)) : null;
            if (mixed) ModelOptions.WarnIfBf16IsEmulated();
            var progress = new CountProgress();
            Action<int, int> shown = (done, total) => progress.Show("bench train", done, total, "steps (2 warm-up)");
            var r = family != null
                ? TrainStepBenchmark.Run(family, parse.GetValue(batchSize), parse.GetValue(contextLength), parse.GetValue(steps), mixedPrecision: mixed, progress: shown, device: onDevice)
                : TrainStepBenchmark.Run(chosen!, parse.GetValue(batchSize), parse.GetValue(contextLength), parse.GetValue(steps), mixedPrecision: mixed, progress: shown, device: onDevice);
            WarnIfDebugBuild();
            if (parse.GetValue(json))
            {
                Cli.WriteJson(new
                {
                    ms_per_step_median = r.MsPerStepMedian,
                    ms_per_step_min = r.MsPerStepMin,
                    ms_per_step_max = r.MsPerStepMax,
                    tokens_per_second = r.TokensPerSecond,
                    achieved_gflops = r.AchievedGflops,
                    matmul_gflops = r.MatmulGflops,
                    mfu = r.Mfu,
                    parameters = r.Parameters,
                    dtype = mixed ? "bf16" : "fp32",
                    peak_resident_mb = Math.Round(r.PeakResidentMegabytes),
                    build = BuildKind.Name,
                });
                return Cli.ExitOk;
            }
            Console.Out.WriteLine($"{r.Parameters:N0} parameters, {TorchSharp.torch.get_num_threads()} threads, {(mixed ? "bf16 mixed precision (fp32 master weights)" : "fp32")}");
            Console.Out.WriteLine($"ms per step     median {r.MsPerStepMedian:F0}  (min {r.MsPerStepMin:F0}, max {r.MsPerStepMax:F0})");
            Console.Out.WriteLine($"tokens/s        {r.TokensPerSecond:F0}");
            Console.Out.WriteLine($"achieved        {r.AchievedGflops:F1} GFLOP/s");
            Console.Out.WriteLine($"fp32 matmul     {r.MatmulGflops:F1} GFLOP/s (measured now)");
            Console.Out.WriteLine($"MFU             {r.Mfu:F2}");
            Console.Out.WriteLine($"peak memory     {r.PeakResidentMegabytes:N0} MB");
            return Cli.ExitOk;
        }));
        return command;
    }

    static Command Generate()
    {
        var shared = new TrainingOptionSet(new Training.PretrainingOptions(), "");
        var (preset, config, device) = (shared.Preset, shared.Config, shared.Device);
        preset.Description = $"a model shape: {string.Join(", ", GptConfig.Presets.Keys.Concat(LlamaConfig.Presets.Keys))} (default gpt2-small)";
        var promptTokens = TextOptions.PositiveInt("--prompt-tokens", "prompt length (default 10)", 10);
        var newTokens = TextOptions.PositiveInt("--new-tokens", "tokens to generate (default 200)", 200);
        var dtype = ModelOptions.DType("the weights' dtype: fp32 (default), bf16 or fp16");
        var cacheOnly = new Option<bool>("--cache-only") { Description = "skip the run without the KV cache (it recomputes the whole context each token: slow on large models)" };
        var compare = new Option<bool>("--compare-llama-cpp") { Description = "also run llama.cpp (node-llama-cpp, from the repository's tests/clients after `npm ci`) on the same model exported to GGUF, with the same prompt, tokens and threads, and print the ratio" };
        var ggufType = new Option<string?>("--gguf-dtype") { Description = "the GGUF type llama.cpp runs: f32, f16, bf16 or q8_0 (default: --dtype's: fp32 -> f32, bf16 -> bf16, fp16 -> f16)" };
        var batch = TextOptions.PositiveInt("--batch", "also decode N sequences together, one forward pass a step, and give their tokens/s in all (default 1: not measured)", 1);
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("generate", "Greedy generation speed with and without the KV cache, the time to the first token and where a token's time goes (random weights); optionally batched, and beside llama.cpp's.")
            { preset, config, promptTokens, newTokens, dtype, cacheOnly, batch, compare, ggufType, device, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            var type = ModelOptions.ParseDType(parse.GetValue(dtype));
            bool withLlamaCpp = parse.GetValue(compare);
            if (parse.GetValue(ggufType) != null && !withLlamaCpp) throw new BadInputException("--gguf-dtype goes with --compare-llama-cpp");
            var gguf = GgmlTypes.Parse(parse.GetValue(ggufType) ?? parse.GetValue(dtype), parse.GetValue(ggufType) != null ? "--gguf-dtype" : "--dtype");
            string? script = withLlamaCpp ? LlamaCppSpeed.FindScript() : null;
            using var model = Training.ModelChoice.RandomModel(parse.GetValue(preset), parse.GetValue(config), type);
            if (parse.GetValue(promptTokens) + parse.GetValue(newTokens) > model.ContextLength && parse.GetValue(promptTokens) >= model.ContextLength)
                throw new BadInputException($"--prompt-tokens {parse.GetValue(promptTokens)} does not fit the model's context of {model.ContextLength}");
            ComputeDevice.MoveTo(model, onDevice);
            WeightArena.Pack(model);
            var progress = new CountProgress();
            var r = GenerationSpeedBenchmark.Run(model, parse.GetValue(promptTokens), parse.GetValue(newTokens), !parse.GetValue(cacheOnly),
                (phase, done, total) => progress.Show($"bench generate, {phase}", done, total, "tokens"));
            var breakdown = GenerationSpeedBenchmark.Breakdown(model, parse.GetValue(promptTokens), Math.Min(parse.GetValue(newTokens), 64));
            var batched = parse.GetValue(batch) > 1 ? GenerationSpeedBenchmark.RunBatched(model, parse.GetValue(promptTokens), parse.GetValue(newTokens), parse.GetValue(batch)) : null;
            long peakBytes;
            using (var self = System.Diagnostics.Process.GetCurrentProcess()) peakBytes = self.PeakWorkingSet64;
            var llamaCpp = script == null ? null
                : RunLlamaCpp(script, model, gguf, GenerationSpeedBenchmark.PromptIds(model, parse.GetValue(promptTokens)), parse.GetValue(newTokens));
            WarnIfDebugBuild();
            long parameters = model.Module.parameters().Sum(p => p.numel());
            if (parse.GetValue(json))
                Cli.WriteJson(new
                {
                    architecture = model.Architecture, parameters, dtype = parse.GetValue(dtype), threads = TorchSharp.torch.get_num_threads(),
                    prompt_tokens = parse.GetValue(promptTokens), tokens_per_second = r.TokensPerSecond, first_token_seconds = r.FirstTokenSeconds,
                    tokens_per_second_no_cache = r.TokensPerSecondNoCache, speedup = r.Speedup, build = BuildKind.Name,
                    ms_per_token = new { forward = breakdown.ForwardMs, sampling = breakdown.SamplingMs, other = breakdown.OtherMs },
                    batched = batched == null ? null : new { batch = batched.Batch, tokens_per_second = batched.TokensPerSecond, first_token_seconds = batched.FirstTokenSeconds, ratio = batched.TokensPerSecond / r.TokensPerSecond },
                    peak_resident_bytes = peakBytes,
                    llama_cpp = llamaCpp == null ? null : new
                    {
                        gguf_dtype = llamaCpp.GgufType, tokens_per_second = llamaCpp.TokensPerSecond, first_token_seconds = llamaCpp.FirstTokenSeconds,
                        ratio = r.TokensPerSecond / llamaCpp.TokensPerSecond, first_token_ratio = r.FirstTokenSeconds / llamaCpp.FirstTokenSeconds,
                    },
                });
            else
            {
                Console.Out.WriteLine($"{model.Architecture}, {parameters:N0} parameters, {parse.GetValue(dtype)}, {TorchSharp.torch.get_num_threads()} threads");
                Console.Out.WriteLine($"first token after a {parse.GetValue(promptTokens)}-token prompt: {r.FirstTokenSeconds:F3} s");
                Console.Out.WriteLine(r.TokensPerSecondNoCache is double without
                    ? $"with KV cache {r.TokensPerSecond:F1} tokens/s, without {without:F1} tokens/s: {r.Speedup:F2}x"
                    : $"with KV cache {r.TokensPerSecond:F1} tokens/s");
                Console.Out.WriteLine($"ms per token: forward {breakdown.ForwardMs:F1}, sampling {breakdown.SamplingMs:F2}, other {breakdown.OtherMs:F2}; peak memory {peakBytes / 1048576.0:N0} MB");
                if (batched != null)
                    Console.Out.WriteLine($"batch of {batched.Batch}: {batched.TokensPerSecond:F1} tokens/s in all ({batched.TokensPerSecond / r.TokensPerSecond:F2}x one sequence), first tokens after {batched.FirstTokenSeconds:F3} s");
                if (llamaCpp != null)
                    Console.Out.WriteLine($"llama.cpp ({llamaCpp.GgufType}): {llamaCpp.TokensPerSecond:F1} tokens/s, first token {llamaCpp.FirstTokenSeconds:F3} s; "
                        + $"LlmForge/llama.cpp: {r.TokensPerSecond / llamaCpp.TokensPerSecond:F2}x tokens/s, {r.FirstTokenSeconds / llamaCpp.FirstTokenSeconds:F2}x first-token time");
            }
            return Cli.ExitOk;
        }));
        return command;
    }

    /// <summary>The benchmark's model exported to a temporary GGUF file (GPT-2's vocabulary, padded to the model's) and run by llama.cpp.</summary>
    static LlamaCppSpeedResult RunLlamaCpp(string script, ILanguageModel model, GgmlType type, int[] prompt, int newTokens)
    {
        var directory = Directory.CreateTempSubdirectory("llmforge-bench-gguf");
        try
        {
            string file = Path.Combine(directory.FullName, "bench.gguf");
            Console.Error.WriteLine($"exporting the model to {GgmlTypes.Name(type)} GGUF for llama.cpp");
            GgufExport.Export(model, LlmForge.Text.TokenizerLoader.Gpt2Default, "the benchmark's model", file, type, overwrite: false, []);
            Console.Error.WriteLine($"llama.cpp: {newTokens} greedy tokens after the same {prompt.Length}-token prompt, {TorchSharp.torch.get_num_threads()} thread(s)");
            return LlamaCppSpeed.Run(script, file, type, prompt, newTokens, TorchSharp.torch.get_num_threads());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    static Command Serve()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var requests = TextOptions.PositiveInt("--requests", "requests in all (default 200)", 200);
        var concurrency = TextOptions.PositiveInt("--concurrency", "clients sending at once (default 8)", 8);
        var maxTokens = TextOptions.PositiveInt("--max-tokens", "tokens each request asks for, greedy (default 16)", 16);
        var maxBatch = TextOptions.PositiveInt("--max-batch", "the server's --max-batch: completions decoded together (default 8; 1: one at a time)", 8);
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        var command = new Command("serve", "Requests from concurrent clients against llmforge serve on loopback: failures, latency, time to first token, tokens/s.")
            { model, config, requests, concurrency, maxTokens, maxBatch, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            string spec = parse.GetValue(model)!;
            using var served = new LlmForge.Server.ServedModel(ModelLoader.Load(spec, parse.GetValue(config)), LlmForge.Server.ServedModel.NameFor(spec));
            ModelOptions.RequireLanguageModel(served.Loaded, spec);
            new LlmForge.Server.ServerOptions { MaxBatch = parse.GetValue(maxBatch) }.Address(); // --max-batch checked before the run
            WeightArena.Pack(served.Network); // as serve does
            var progress = new CountProgress();
            var r = ServeBenchmark.RunAsync(served, parse.GetValue(requests), parse.GetValue(concurrency), parse.GetValue(maxTokens), parse.GetValue(maxBatch),
                (done, total) => progress.Show("bench serve", done, total, "requests")).GetAwaiter().GetResult();
            WarnIfDebugBuild();
            if (parse.GetValue(json))
                Cli.WriteJson(new
                {
                    requests = r.Requests, concurrency = r.Concurrency, max_batch = parse.GetValue(maxBatch), failures = r.Failures, first_failure = r.FirstFailure,
                    latency_ms_p50 = r.LatencyP50Ms, latency_ms_p99 = r.LatencyP99Ms,
                    first_token_ms_p50 = r.FirstTokenP50Ms, first_token_ms_p99 = r.FirstTokenP99Ms,
                    completion_tokens = r.CompletionTokens, seconds = r.Seconds, tokens_per_second = r.TokensPerSecond,
                    direct_tokens_per_second = r.DirectTokensPerSecond, ratio = r.Ratio, build = BuildKind.Name,
                });
            else
            {
                Console.Out.WriteLine($"{r.Requests} requests from {r.Concurrency} clients, up to {parse.GetValue(maxBatch)} decoded together: {r.Failures} failed{(r.FirstFailure is string f ? $" (first: {f})" : "")}");
                Console.Out.WriteLine($"latency         p50 {r.LatencyP50Ms:F0} ms, p99 {r.LatencyP99Ms:F0} ms");
                Console.Out.WriteLine($"first token     p50 {r.FirstTokenP50Ms:F0} ms, p99 {r.FirstTokenP99Ms:F0} ms");
                Console.Out.WriteLine($"tokens/s        {r.TokensPerSecond:F0} in all ({r.CompletionTokens:N0} tokens in {r.Seconds:F1} s)");
                Console.Out.WriteLine($"direct          {r.DirectTokensPerSecond:F0} tokens/s generating the same requests in-process, one after another: served {r.Ratio:F2}x");
            }
            return r.Failures == 0 ? Cli.ExitOk : Cli.ExitFailure;
        }));
        return command;
    }

    static Command Tokenize()
    {
        var file = new Option<string>("--file") { Description = "a UTF-8 text file", Required = true };
        var longRuns = new Option<bool>("--long-runs") { Description = "also time single unbroken runs (200,000 × \"a\", a 5 MB line of the file's letters); about a minute more" };
        var json = TextOptions.Json();
        var command = new Command("tokenize", "GPT-2 encoding speed against Microsoft.ML.Tokenizers.") { file, longRuns, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            string text = TextFile.ReadUtf8(parse.GetValue(file)!);
            var r = TokenizerSpeedBenchmark.Run(text);
            // The reference is quadratic on these: it is waited for 20 s at most.
            var runs = parse.GetValue(longRuns) ? TokenizerSpeedBenchmark.RunLongRuns(text, referenceLimitSeconds: 20) : [];
            WarnIfDebugBuild();
            if (parse.GetValue(json))
                Cli.WriteJson(new
                {
                    tokens_per_second = r.TokensPerSecond, reference_tokens_per_second = r.ReferenceTokensPerSecond, ratio = r.Ratio, build = BuildKind.Name,
                    long_runs = runs.Select(l => new { text = l.Text, chars = l.Chars, tokens = l.Tokens, seconds = l.Seconds, reference_seconds = l.ReferenceSeconds }).ToArray(),
                });
            else
            {
                Console.Out.WriteLine($"{r.TokensPerSecond:N0} tokens/s against Microsoft.ML.Tokenizers' {r.ReferenceTokensPerSecond:N0}: {r.Ratio:F2}x ({r.Tokens:N0} identical ids)");
                foreach (var run in runs) Console.Out.WriteLine(run.Describe());
            }
            return Cli.ExitOk;
        }));
        return command;
    }
}
