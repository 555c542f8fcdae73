namespace LlmForge.Model.Llama;

/// <summary>
/// The transformer block of Llama and Qwen3: chapter 4's pre-norm block with RMSNorm in place of LayerNorm,
/// grouped-query attention with rotary positions, and the SwiGLU feed-forward network:
/// <c>x + att(norm1(x))</c>, then the same around <c>ff</c> with <c>norm2</c>. No dropout.
/// </summary>
public sealed class LlamaBlock : nn.Module<Tensor, Tensor>
{
    public readonly GroupedQueryAttention att;
    public readonly SwiGluFeedForward ff;
    public readonly RmsNorm norm1, norm2;

    public LlamaBlock(LlamaConfig config, RotaryEmbedding rope, LayerFactory layers) : base(nameof(LlamaBlock))
    {
        att = new GroupedQueryAttention(config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim,
            config.QkNorm, config.RmsNormEps, rope, layers);
        ff = new SwiGluFeedForward(config.HiddenSize, config.IntermediateSize, layers);
        norm1 = new RmsNorm(config.HiddenSize, config.RmsNormEps, layers.DType);
        norm2 = new RmsNorm(config.HiddenSize, config.RmsNormEps, layers.DType);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => forward(x, null);

    public Tensor forward(Tensor x, LayerKvCache? cache)
    {
        using var scope = NewDisposeScope();
        var attended = x + att.forward(norm1.forward(x), cache);
        return (attended + ff.forward(norm2.forward(attended))).MoveToOuterDisposeScope();
    }
}
