using System.Runtime.CompilerServices;

namespace LlmForge.Generation;

/// <summary>
/// The book's <c>generate</c> loop: feed the context, pick a token, append it, repeat. The context
/// is cropped to the model's length. With the KV cache each step feeds only the new token; once the
/// sequence is longer than the context, every step recomputes the cropped window, so the ids are
/// exactly those of full recomputation.
/// </summary>
public static class TextGenerator
{
    /// <summary>Yields each new id as it is chosen (the prompt is not repeated).</summary>
    /// <exception cref="BadInputException">an option is out of range, or the cache and activations cannot fit in memory.</exception>
    /// <exception cref="NonFiniteLogitsException">the model's logits are NaN or infinite (damaged or diverged weights).</exception>
    public static IEnumerable<int> Generate(ILanguageModel model, IReadOnlyList<int> promptIds, GenerationOptions options)
    {
        int positions = Check(model, promptIds, options);
        var device = model.Device;
        int contextLength = model.ContextLength;
        var ids = promptIds.ToList();
        int decodeThreads = get_num_threads();
        using var sampler = new Sampler(options);
        using var cache = options.UseKvCache ? model.NewKvCache(positions) : null;
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                int next;
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    Tensor logits;
                    if (cache != null && ids.Count <= cache.Capacity)
                    {
                        // Feed what the cache has not seen: the prompt first, then one token a step.
                        var unseen = ids.Skip((int)cache.Length).Select(i => (long)i).ToArray();
                        // One token's step is its matrix-vector products (DecodeLinear, on every thread) and small
                        // operations that gain nothing from more threads but would leave libtorch's workers spinning.
                        using var threads = unseen.Length == 1 && device.type == DeviceType.CPU ? DecodeLinear.OneThreadAround(decodeThreads) : null;
                        logits = model.forward(tensor(unseen, [1, unseen.Length], device: device), cache);
                    }
                    else
                    {
                        var window = ids.Skip(Math.Max(0, ids.Count - contextLength)).Select(i => (long)i).ToArray();
                        logits = model.forward(tensor(window, [1, window.Length], device: device), null);
                    }
                    next = (int)sampler.Next(logits[.., -1, ..]).item<long>();
                }
                ids.Add(next);
                yield return next;
                if (options.IsStop(next)) yield break;
            }
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
    }

    /// <summary>
    /// Checks a generation before it starts (the options, a prompt, the memory its cache and activations need) and
    /// returns the positions it will ever feed at once: the prompt plus the new tokens, cropped to the context.
    /// </summary>
    /// <exception cref="BadInputException">as <see cref="Generate"/>.</exception>
    internal static int Check(ILanguageModel model, IReadOnlyList<int> promptIds, GenerationOptions options)
    {
        options.Validated();
        if (promptIds.Count == 0) throw new BadInputException("the prompt is empty: generation needs at least one token");
        int contextLength = model.ContextLength;
        int positions = (int)Math.Min(contextLength, (long)promptIds.Count + options.MaxNewTokens);
        if (options.MaxNewTokens > 0)
        {
            double cacheBytes = options.UseKvCache ? model.KvCacheBytes(positions) : 0;
            MemoryBudget.Require(cacheBytes + model.ForwardBytes(positions),
                $"the {(options.UseKvCache ? "KV cache and " : "")}activations of generation over {positions:N0} positions (a {promptIds.Count:N0}-token prompt and {options.MaxNewTokens:N0} new tokens, in a context of {contextLength:N0})");
        }
        return positions;
    }

    /// <summary>
    /// The generated text in pieces, one per token that completes some text. Each token is decoded once by the
    /// tokenizer's <see cref="StreamingDecoder"/>, which holds back what a later token may still change (half
    /// of a multi-byte character); the pieces join to the decode of all the new ids. The prompt is not repeated.
    /// </summary>
    /// <exception cref="BadInputException">as <see cref="Generate"/>.</exception>
    /// <exception cref="NonFiniteLogitsException">as <see cref="Generate"/>.</exception>
    public static IEnumerable<string> Stream(ILanguageModel model, ITokenizer tokenizer, IReadOnlyList<int> promptIds, GenerationOptions options)
    {
        var decoder = tokenizer.NewStreamingDecoder();
        foreach (int id in Generate(model, promptIds, options))
        {
            string piece = decoder.Add(id);
            if (piece.Length > 0) yield return piece;
        }
        string rest = decoder.Finish();
        if (rest.Length > 0) yield return rest;
    }

    /// <summary><see cref="Stream"/> of a text prompt, checked by <see cref="Prompt.Encode"/>, for callers that await pieces (a server).</summary>
    public static async IAsyncEnumerable<string> StreamAsync(ILanguageModel model, ITokenizer tokenizer, string prompt,
        GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        foreach (string piece in Stream(model, tokenizer, Prompt.Encode(tokenizer, prompt, model.OutputSize), options))
        {
            cancellation.ThrowIfCancellationRequested();
            yield return piece;
            await Task.Yield();
        }
    }
}
