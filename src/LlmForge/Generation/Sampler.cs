using TorchSharp;
using static TorchSharp.torch;

namespace LlmForge.Generation;

/// <summary>
/// Picks the next token from the last position's logits (chapter 5): the most likely one when the
/// temperature is 0; otherwise top-k and top-p filtering, temperature scaling and a draw from the softmax.
/// </summary>
public sealed class Sampler(GenerationOptions options) : IDisposable
{
    readonly Generator _generator = new Generator().manual_seed(options.Seed);

    /// <summary>The next id for each row of <paramref name="logits"/> <c>[B, vocab]</c>, as <c>[B, 1]</c>.</summary>
    public Tensor Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        if (options.Temperature == 0) return logits.argmax(-1, keepdim: true).MoveToOuterDisposeScope();

        var filtered = logits;
        if (options.TopK is int k && k < logits.shape[^1])
        {
            // The book's top-k: everything below the k-th largest logit becomes -inf.
            var (top, _) = logits.topk(k, dim: -1);
            filtered = where(logits < top[.., ^1..], double.NegativeInfinity, logits);
        }
        filtered = filtered / options.Temperature;
        if (options.TopP is double p && p < 1)
        {
            // Nucleus: keep the smallest set of most likely tokens whose probability reaches p.
            var (sorted, order) = filtered.sort(dim: -1, descending: true);
            var cumulative = nn.functional.softmax(sorted, dim: -1).cumsum(-1);
            // A token is dropped when the tokens before it already reach p (the most likely always stays).
            var drop = (cumulative - nn.functional.softmax(sorted, dim: -1)) >= p;
            var dropInOriginalOrder = zeros_like(drop).scatter(-1, order, drop);
            filtered = filtered.masked_fill(dropInOriginalOrder, double.NegativeInfinity);
        }
        var probabilities = nn.functional.softmax(filtered, dim: -1);
        return multinomial(probabilities, 1, generator: _generator).MoveToOuterDisposeScope();
    }

    public void Dispose() => _generator.Dispose();
}
