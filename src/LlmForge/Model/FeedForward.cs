namespace LlmForge.Model;

/// <summary>Chapter 4's feed-forward network: widen to 4× the embedding, GELU, narrow back.</summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    public readonly FeedForwardLayers layers;

    public FeedForward(GptConfig config) : base(nameof(FeedForward))
    {
        layers = new FeedForwardLayers(config.EmbDim, 4 * config.EmbDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers.forward(x);
}
