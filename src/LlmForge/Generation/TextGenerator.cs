using System.Runtime.CompilerServices;
using LlmForge.Model;
using LlmForge.Text;
using TorchSharp;
using static TorchSharp.torch;

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
    public static IEnumerable<int> Generate(GptModel model, IReadOnlyList<int> promptIds, GenerationOptions options)
    {
        options.Validated();
        if (promptIds.Count == 0) throw new BadInputException("the prompt is empty: generation needs at least one token");
        var weights = model.tok_emb.weight!;
        var device = weights.device;
        int contextLength = model.Config.ContextLength;
        // Positions ever fed at once: the prompt plus the new tokens, cropped to the context.
        int positions = (int)Math.Min(contextLength, (long)promptIds.Count + options.MaxNewTokens);
        if (options.MaxNewTokens > 0)
        {
            double cacheBytes = options.UseKvCache ? MemoryBudget.KvCacheBytes(model.Config, positions, (int)weights.ElementSize) : 0;
            MemoryBudget.Require(cacheBytes + MemoryBudget.ForwardBytes(model.Config, positions),
                $"the {(options.UseKvCache ? "KV cache and " : "")}activations of generation over {positions:N0} positions (a {promptIds.Count:N0}-token prompt and {options.MaxNewTokens:N0} new tokens, in a context of {contextLength:N0})");
        }
        var ids = promptIds.ToList();
        using var sampler = new Sampler(options);
        using var cache = options.UseKvCache ? model.NewKvCache(positions) : null;
        bool wasTraining = model.training;
        model.eval();
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
                        logits = model.forward(tensor(unseen, [1, unseen.Length], device: device), cache);
                    }
                    else
                    {
                        var window = ids.Skip(Math.Max(0, ids.Count - contextLength)).Select(i => (long)i).ToArray();
                        logits = model.forward(tensor(window, [1, window.Length], device: device));
                    }
                    next = (int)sampler.Next(logits[.., -1, ..]).item<long>();
                }
                ids.Add(next);
                yield return next;
                if (next == options.StopTokenId) yield break;
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }

    /// <summary>
    /// Streams the generated text in pieces. A token may end inside a multi-byte character, so text is
    /// released only up to the last complete character.
    /// </summary>
    public static async IAsyncEnumerable<string> StreamAsync(GptModel model, ITokenizer tokenizer, string prompt,
        GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var newIds = new List<int>();
        string emitted = "";
        foreach (int id in Generate(model, tokenizer.Encode(prompt), options))
        {
            cancellation.ThrowIfCancellationRequested();
            newIds.Add(id);
            string text = tokenizer.Decode(newIds);
            int complete = text.Length;
            while (complete > emitted.Length && text[complete - 1] == '\uFFFD') complete--;
            if (complete > emitted.Length)
            {
                yield return text[emitted.Length..complete];
                emitted = text[..complete];
            }
            await Task.Yield();
        }
        string final = tokenizer.Decode(newIds);
        if (final.Length > emitted.Length) yield return final[emitted.Length..];
    }
}
