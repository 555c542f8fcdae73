using System.Text.Json.Nodes;

namespace LlmForge.Model;

/// <summary>
/// A LoRA model seen without its adapters: the base model it wraps, sharing its weights. DPO's reference
/// with <c>--lora-rank</c>: the policy is the adapters over the reference, so one copy of the weights
/// serves both. Disposing the view leaves the model alone.
/// </summary>
public sealed class BaseModelView(ILanguageModel model) : ILanguageModel
{
    public string Architecture => model.Architecture;

    public int ContextLength => model.ContextLength;

    public int OutputSize => model.OutputSize;

    public nn.Module Module => model.Module;

    public Device Device => model.Device;

    public string? PromptFormat
    {
        get => model.PromptFormat;
        set => model.PromptFormat = value;
    }

    /// <summary>The model's logits with every adapter switched off for the call.</summary>
    public Tensor forward(Tensor ids, KvCache? cache)
    {
        var wrappers = model.Module.modules().OfType<LinearWithLoRA>().ToList();
        foreach (var wrapper in wrappers) wrapper.Enabled = false;
        try
        {
            return model.forward(ids, cache);
        }
        finally
        {
            foreach (var wrapper in wrappers) wrapper.Enabled = true;
        }
    }

    public KvCache NewKvCache(int capacity) => model.NewKvCache(capacity);

    public JsonObject ConfigJson() => model.ConfigJson();

    public ILanguageModel NewOfSameShape() => model.NewOfSameShape();

    public double KvCacheBytes(long positions) => model.KvCacheBytes(positions);

    public double ForwardBytes(long tokens) => model.ForwardBytes(tokens);

    public void Dispose() { }
}
