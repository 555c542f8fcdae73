namespace LlmForge.Generation;

/// <summary>
/// Picks the next token from the last position's logits (chapter 5): the most likely one when the
/// temperature is 0; otherwise top-k and top-p filtering, temperature scaling and a draw from the softmax.
/// </summary>
/// <remarks>
/// Sampling works in float64 on logits minus their maximum, so the most likely token scores 0 and the others
/// below it: dividing by any temperature above 0 then gives no NaN. A tiny temperature tends to greedy
/// decoding (ties shared), a huge one to a uniform draw; bf16 / fp16 logits cannot overflow when scaled.
/// </remarks>
public sealed class Sampler(GenerationOptions options) : IDisposable
{
    readonly Generator _generator = new Generator().manual_seed(options.Seed);

    /// <summary>The next id for each row of <paramref name="logits"/> <c>[B, vocab]</c>, as <c>[B, 1]</c>.</summary>
    /// <exception cref="NonFiniteLogitsException">a logit is NaN or infinite.</exception>
    public Tensor Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        // NaN logits would make argmax pick id 0 every time, and the softmax below fail inside libtorch.
        if (LogitScan.Applies(logits))
        {
            // On the CPU, one pass in place both checks and (greedy) picks.
            if (options.Temperature == 0)
            {
                var ids = LogitScan.Argmax(logits) ?? throw NotFinite();
                return tensor(ids, [ids.Length, 1]).MoveToOuterDisposeScope();
            }
            if (!LogitScan.AllFinite(logits)) throw NotFinite();
        }
        else if (!logits.isfinite().all().item<bool>()) throw NotFinite();
        if (options.Temperature == 0) return logits.argmax(-1, keepdim: true).MoveToOuterDisposeScope();

        var scores = logits.to_type(ScalarType.Float64);
        scores = scores - scores.max(-1, keepdim: true).values;
        if (options.TopK is int k && k < scores.shape[^1])
        {
            // The book's top-k: everything below the k-th largest logit becomes -inf.
            var (top, _) = scores.topk(k, dim: -1);
            scores = where(scores < top[.., ^1..], double.NegativeInfinity, scores);
        }
        scores = scores / options.Temperature;
        if (options.TopP is double p && p < 1)
        {
            // Nucleus: keep the smallest set of most likely tokens whose probability reaches p.
            var (sorted, order) = scores.sort(dim: -1, descending: true);
            var probabilities = nn.functional.softmax(sorted, dim: -1);
            // A token is dropped when the tokens before it already reach p; the most likely one has 0 before it and always stays.
            var drop = (probabilities.cumsum(-1) - probabilities) >= p;
            var dropInOriginalOrder = zeros_like(drop).scatter(-1, order, drop);
            scores = scores.masked_fill(dropInOriginalOrder, double.NegativeInfinity);
        }
        return multinomial(nn.functional.softmax(scores, dim: -1), 1, generator: _generator).MoveToOuterDisposeScope();
    }

    static NonFiniteLogitsException NotFinite() =>
        new("the model's logits are not finite numbers (NaN or infinity): its weights are probably damaged or diverged");

    public void Dispose() => _generator.Dispose();
}
