using System.Text.Json.Nodes;

namespace LlmForge.Model;

/// <summary>
/// The model contract: what the loss, generation, the trainers, mixed precision, checkpoints and the
/// loader need of a model, whatever its family. <see cref="GptModel"/> is the first implementation;
/// a GPT with a class head is the same model with <see cref="GptModel.ReplaceOutputHead"/>, and other
/// families (Llama, Qwen3) implement it with their own blocks.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>The family, as <c>config.json</c>'s <c>architecture</c> key names it ("gpt2").</summary>
    string Architecture { get; }

    /// <summary>The longest sequence of positions the model takes.</summary>
    int ContextLength { get; }

    /// <summary>Logits per position: the vocabulary, or the classes of a replaced head.</summary>
    int OutputSize { get; }

    /// <summary>The torch module: parameters by name, train/eval mode, device and dtype.</summary>
    nn.Module Module { get; }

    /// <summary>Logits <c>[B, T, OutputSize]</c> for ids <c>[B, T]</c> that continue those already in <paramref name="cache"/>.</summary>
    Tensor forward(Tensor ids, KvCache? cache);

    /// <summary>A key/value cache for <paramref name="capacity"/> positions (at most the context).</summary>
    KvCache NewKvCache(int capacity);

    /// <summary>The hyperparameters and the architecture, as a checkpoint's <c>config.json</c> holds them.</summary>
    JsonObject ConfigJson();

    /// <summary>A new model of the same architecture and shapes (fresh weights), for a compute copy in another dtype.</summary>
    ILanguageModel NewOfSameShape();

    /// <summary>The prompt format an instruction-tuned model answers in (<c>alpaca</c>, chapter 7), kept in its config; null for others.</summary>
    string? PromptFormat { get; set; }

    /// <summary>Where the weights are: the device every tensor fed to the model must be on.</summary>
    Device Device { get; }

    /// <summary>Bytes of a key/value cache for <paramref name="positions"/> positions, for refusing what cannot fit.</summary>
    double KvCacheBytes(long positions);

    /// <summary>Bytes of a forward pass without gradients over <paramref name="tokens"/> positions (logits included).</summary>
    double ForwardBytes(long tokens);
}
