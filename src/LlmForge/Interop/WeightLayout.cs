using LlmForge.Model;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>
/// Where each of the book model's parameters comes from in a file: the source tensor's name, the
/// shape it must have there, and how to turn it into the parameter. Two layouts exist: the book's own
/// names, and Hugging Face GPT-2's (Conv1D weights stored [in, out], query/key/value fused in c_attn).
/// </summary>
public abstract class WeightLayout
{
    public sealed record Mapping(string Source, long[] SourceShape, Func<Tensor, Tensor> Transform)
    {
        /// <summary>The stored tensor is the parameter as it is: it can be read straight into it.</summary>
        public bool IsDirect => Transform == Same;
    }

    public abstract string Name { get; }

    /// <summary>The source of the model parameter <paramref name="parameter"/>.</summary>
    public abstract Mapping Map(string parameter, long[] parameterShape, GptConfig config);

    /// <summary>Tensors in files of this layout that are not parameters (attention-mask buffers).</summary>
    public abstract bool IsIgnored(string sourceName);

    /// <summary>The layout whose names <paramref name="source"/> carries.</summary>
    public static WeightLayout Detect(IWeightSource source)
    {
        if (source.Names.Contains("tok_emb.weight")) return Book.Instance;
        bool lmHead = source.Names.Contains("lm_head.weight");
        if (source.Names.Contains("wte.weight")) return new HuggingFace("") { HasLmHead = lmHead };
        if (source.Names.Contains("transformer.wte.weight")) return new HuggingFace("transformer.") { HasLmHead = lmHead };
        throw new BadInputException($"{source.Path}: not GPT weights (no tok_emb.weight, wte.weight or transformer.wte.weight among its {source.Names.Count} tensors)");
    }

    static readonly Func<Tensor, Tensor> Same = t => t;

    /// <summary>The book's state-dict names, tensors as they are.</summary>
    public sealed class Book : WeightLayout
    {
        public static readonly Book Instance = new();

        public override string Name => "book";

        public override Mapping Map(string parameter, long[] parameterShape, GptConfig config) => new(parameter, parameterShape, Same);

        public override bool IsIgnored(string sourceName) => sourceName.EndsWith(".att.mask", StringComparison.Ordinal);
    }

    /// <summary>Hugging Face's GPT-2 names, optionally under <c>transformer.</c>.</summary>
    public sealed class HuggingFace(string prefix) : WeightLayout
    {
        public override string Name => "huggingface";

        public override bool IsIgnored(string sourceName) =>
            sourceName.EndsWith(".attn.bias", StringComparison.Ordinal) || sourceName.EndsWith(".attn.masked_bias", StringComparison.Ordinal);

        public override Mapping Map(string parameter, long[] shape, GptConfig config)
        {
            long e = config.EmbDim;
            string[] parts = parameter.Split('.');
            switch (parameter)
            {
                case "tok_emb.weight": return new(prefix + "wte.weight", shape, Same);
                case "pos_emb.weight": return new(prefix + "wpe.weight", shape, Same);
                case "final_norm.scale": return new(prefix + "ln_f.weight", shape, Same);
                case "final_norm.shift": return new(prefix + "ln_f.bias", shape, Same);
                // The output head is tied to the token embedding unless the file has its own.
                case "out_head.weight": return new(HasLmHead ? "lm_head.weight" : prefix + "wte.weight", shape, Same);
            }
            string block = $"{prefix}h.{parts[1]}.";
            string rest = string.Join('.', parts[2..]);
            // Conv1D stores weights [in, out]: transpose into Linear's [out, in].
            Mapping Conv1D(string name) => new(block + name, [shape[1], shape[0]], t => t.t());
            Mapping Fused(string name, int part) => name.EndsWith("weight")
                ? new(block + name, [e, 3 * e], t => t.narrow(1, part * e, e).t())
                : new(block + name, [3 * e], t => t.narrow(0, part * e, e));
            return rest switch
            {
                "norm1.scale" => new(block + "ln_1.weight", shape, Same),
                "norm1.shift" => new(block + "ln_1.bias", shape, Same),
                "norm2.scale" => new(block + "ln_2.weight", shape, Same),
                "norm2.shift" => new(block + "ln_2.bias", shape, Same),
                "att.W_query.weight" => Fused("attn.c_attn.weight", 0),
                "att.W_key.weight" => Fused("attn.c_attn.weight", 1),
                "att.W_value.weight" => Fused("attn.c_attn.weight", 2),
                "att.W_query.bias" => Fused("attn.c_attn.bias", 0),
                "att.W_key.bias" => Fused("attn.c_attn.bias", 1),
                "att.W_value.bias" => Fused("attn.c_attn.bias", 2),
                "att.out_proj.weight" => Conv1D("attn.c_proj.weight"),
                "att.out_proj.bias" => new(block + "attn.c_proj.bias", shape, Same),
                "ff.layers.0.weight" => Conv1D("mlp.c_fc.weight"),
                "ff.layers.0.bias" => new(block + "mlp.c_fc.bias", shape, Same),
                "ff.layers.2.weight" => Conv1D("mlp.c_proj.weight"),
                "ff.layers.2.bias" => new(block + "mlp.c_proj.bias", shape, Same),
                _ => throw new ArgumentException($"no Hugging Face name for parameter {parameter}"),
            };
        }

        /// <summary>Set by the loader when the file carries an untied <c>lm_head.weight</c>.</summary>
        public bool HasLmHead { get; init; }
    }
}
