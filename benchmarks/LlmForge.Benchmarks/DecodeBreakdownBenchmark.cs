using LlmForge.Generation;
using LlmForge.Model.Native;

namespace LlmForge.Benchmarks;

/// <summary>
/// Where a decoded token's time goes, for a preset's shapes with random weights, in fp32 and bf16 at the current
/// threads: (1) each weight matrix once as a matrix-vector product, as decoding one token reads it (the floor libtorch's
/// kernels set, with the bandwidth it implies); (2) the model's forward of one token with the KV cache; (3) a whole step
/// of <see cref="TextGenerator"/> (forward, greedy pick, bookkeeping). The differences are what the layers around the
/// products and the generation loop add. Each is measured with libtorch's products and with <see cref="DecodeLinear"/>'s,
/// over weights packed by <see cref="WeightArena"/> (<c>LLMFORGE_NO_ARENA=1</c> leaves them as allocated, to compare).
/// With a batch, also a decoding step of that many sequences, reading the weights row by row and in panels (<see cref="DecodePanels"/>).
/// </summary>
static class DecodeBreakdownBenchmark
{
    /// <summary><c>decode [preset] [tokens] [threads] [batch]</c>.</summary>
    public static int Run(string[] args)
    {
        string preset = Args.Text(args, 0, "gpt2-small");
        int tokens = Args.Number(args, 1, 100);
        set_num_threads(Args.Number(args, 2, get_num_threads()));
        Console.WriteLine($"{preset}, random weights, {get_num_threads()} thread(s), {tokens} tokens after a 10-token prompt");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var model = LlmForge.Training.ModelChoice.RandomModel(preset, null, dtype);
            model.Module.eval();
            if (Environment.GetEnvironmentVariable("LLMFORGE_NO_ARENA") != "1") WeightArena.Pack(model);
            int bytesPerValue = dtype == ScalarType.Float32 ? 4 : 2;
            // Every matrix a token's forward multiplies by: all 2-D parameters but the tables looked up by index.
            var matrices = model.Module.named_parameters()
                .Where(p => p.parameter.dim() == 2 && !p.name.StartsWith("pos_emb") && !(p.name.StartsWith("tok_emb") && HasOwnHead(model)))
                .Select(p => (Tensor)p.parameter).ToList();
            long values = matrices.Sum(m => m.numel());
            Console.WriteLine($"{dtype}: {values / 1e6:F1}M weights in {matrices.Count} products, {values * bytesPerValue / 1e6:F0} MB a token");
            // libtorch's products, then LlmForge's managed kernels, then (bf16, where the processor has it) vdpbf16ps.
            var kernels = new List<(string Name, bool Ours, bool Native)> { ("libtorch's products", false, false), ("LlmForge's one-row products, managed", true, false) };
            if (dtype == ScalarType.BFloat16 && Bf16DotKernels.Available) kernels.Add(("LlmForge's one-row products, vdpbf16ps", true, true));
            foreach (var (name, ours, native) in kernels)
            {
                DecodeLinear.Enabled = ours;
                Bf16DotKernels.Enabled = native;
                double products, forward;
                // As generation runs a decoding step: the products on every thread, libtorch's own operations on one.
                using (no_grad())
                using (DecodeLinear.OneThreadAround(get_num_threads()))
                {
                    var inputs = matrices.Select(m => randn([1, 1, m.shape[1]], dtype: dtype)).ToList();
                    products = MillisecondsEach(20, () =>
                    {
                        using var scope = NewDisposeScope();
                        for (int i = 0; i < matrices.Count; i++) DecodeLinear.Forward(matrices[i], null, inputs[i]);
                    });
                    using var cache = model.NewKvCache(tokens + 20);
                    using (var scope = NewDisposeScope()) model.forward(tensor(Enumerable.Range(1000, 10).Select(i => (long)i).ToArray(), [1, 10]), cache);
                    forward = MillisecondsEach(tokens, () =>
                    {
                        using var scope = NewDisposeScope();
                        model.forward(tensor(new long[] { 42 }, [1, 1]), cache);
                    });
                }
                var clock = Stopwatch.StartNew();
                double first = 0;
                int produced = 0;
                foreach (int _ in TextGenerator.Generate(model, Enumerable.Range(1000, 10).ToArray(), new GenerationOptions { MaxNewTokens = tokens + 1 }))
                    if (produced++ == 0) first = clock.Elapsed.TotalMilliseconds;
                double step = (clock.Elapsed.TotalMilliseconds - first) / (produced - 1);
                Console.WriteLine($"  {name}:");
                Console.WriteLine($"    products alone   {products,6:F1} ms  ({values * bytesPerValue / products / 1e6:F1} GB/s)");
                Console.WriteLine($"    model forward    {forward,6:F1} ms  (+{forward - products:F1} ms around the products)");
                Console.WriteLine($"    generation step  {step,6:F1} ms  (+{step - forward:F1} ms in the loop: sampling, ids, bookkeeping) = {1000 / step:F1} tokens/s");
            }
            DecodeLinear.Enabled = true;
            int batch = Args.Number(args, 3, 1);
            var layouts = new List<(string Name, bool InPanels, bool Native)> { ("row by row", false, false), ("in panels", true, false) };
            if (dtype == ScalarType.BFloat16 && Bf16DotKernels.Available) layouts.Add(("in panels, vdpbf16ps", true, true));
            if (batch > 1)
                foreach (var (layout, inPanels, native) in layouts)
                using (var panels = inPanels ? new DecodePanels() : null)
                using (no_grad())
                using (DecodeLinear.OneThreadAround(get_num_threads(), panels)) // several rows take DecodeLinear in a decoding step only
                {
                    Bf16DotKernels.Enabled = native;
                    var xs = matrices.Select(m => randn([batch, 1, m.shape[1]], dtype: dtype)).ToList();
                    double products = MillisecondsEach(10, () =>
                    {
                        using var scope = NewDisposeScope();
                        for (int i = 0; i < matrices.Count; i++) DecodeLinear.Forward(matrices[i], null, xs[i]);
                    });
                    using var cache = model.NewKvCache(tokens + 20);
                    using (var scope = NewDisposeScope()) model.forward(randint(1000, 2000, [batch, 10]), cache);
                    double forward = MillisecondsEach(tokens, () =>
                    {
                        using var scope = NewDisposeScope();
                        model.forward(randint(1000, 2000, [batch, 1]), cache);
                    });

                    // As the server runs it: each sequence with a cache of its own (KvCache.Rows), attending row by row.
                    var own = Enumerable.Range(0, batch).Select(_ => model.NewKvCache(tokens + 20)).ToList();
                    foreach (var sequence in own)
                        using (var scope = NewDisposeScope()) model.forward(randint(1000, 2000, [1, 10]), sequence);
                    double separate = MillisecondsEach(tokens, () =>
                    {
                        using var scope = NewDisposeScope();
                        using var step = KvCache.Rows(own);
                        model.forward(randint(1000, 2000, [batch, 1]), step);
                    });
                    own.ForEach(c => c.Dispose());
                    Console.WriteLine($"  batch of {batch}, weights {layout}: products alone {products:F1} ms, model forward {forward:F1} ms a step ({batch * 1000 / forward:F0} tokens/s); with a cache a sequence {separate:F1} ms ({batch * 1000 / separate:F0} tokens/s)");
                }
        }
        return 0;
    }

    /// <summary>Whether the model's head is a matrix of its own (the embedding is then only looked up).</summary>
    static bool HasOwnHead(ILanguageModel model) => model.Module.named_parameters().Any(p => p.name.StartsWith("out_head"));

    static double MillisecondsEach(int repeats, Action action)
    {
        action();
        action();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) action();
        return clock.Elapsed.TotalMilliseconds / repeats;
    }
}
