using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// Makes the model's weight layers in its dtype, either drawn as Hugging Face initialises Llama and Qwen3
/// (normal, mean 0, standard deviation 0.02, no biases) for a model trained from scratch, or left
/// uninitialised for a model whose weights are about to be read from a file: drawing billions of random
/// numbers only to overwrite them would take seconds, and building in the final dtype keeps the memory
/// of a bf16 model at its bf16 size.
/// </summary>
public sealed class LayerFactory(ScalarType dtype, bool initialize)
{
    /// <summary>Hugging Face's <c>initializer_range</c> for both families.</summary>
    public const double InitializerRange = 0.02;

    public ScalarType DType => dtype;

    /// <summary>A linear layer without bias, <c>[outFeatures, inFeatures]</c>.</summary>
    public Linear Linear(int inFeatures, int outFeatures) => nn.Linear(Weight(outFeatures, inFeatures), null);

    /// <summary>A token embedding of <paramref name="vocabSize"/> rows.</summary>
    public TokenEmbedding Embedding(int vocabSize, int dim) => new(Weight(vocabSize, dim));

    Parameter Weight(long rows, long columns)
    {
        var weight = new Parameter(empty(rows, columns, dtype));
        if (initialize)
            using (no_grad())
                nn.init.normal_(weight, 0, InitializerRange);
        return weight;
    }
}
