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

    /// <summary>Hugging Face's GPT-2 names (<see cref="Gpt2HfNames"/>), optionally under <c>transformer.</c>.</summary>
    public sealed class HuggingFace(string prefix) : WeightLayout
    {
        public override string Name => "huggingface";

        public override bool IsIgnored(string sourceName) => Gpt2HfNames.IsMaskBuffer(sourceName);

        public override Mapping Map(string parameter, long[] shape, GptConfig config)
        {
            // The output head is tied to the token embedding unless the file has its own.
            if (parameter == Gpt2HfNames.OutputHead.Book[0])
                return new(HasLmHead ? Gpt2HfNames.OutputHead.Hf : prefix + "wte.weight", shape, Same);
            if (Gpt2HfNames.Find([.. Gpt2HfNames.Embeddings, .. Gpt2HfNames.Final], parameter) is { } top)
                return new(prefix + top.Entry.Hf, shape, Same);
            string[] parts = parameter.Split('.');
            if (parts.Length < 3 || parts[0] != "trf_blocks" || Gpt2HfNames.Find(Gpt2HfNames.Block, string.Join('.', parts[2..])) is not { } found)
                throw new ArgumentException($"no Hugging Face name for parameter {parameter}");
            var (entry, part) = found;
            string source = $"{prefix}h.{parts[1]}.{entry.Hf}";
            long e = config.EmbDim;
            return entry.Storage switch
            {
                // Conv1D stores weights [in, out]: transpose into Linear's [out, in].
                Gpt2HfNames.Storage.Transposed => new(source, [shape[1], shape[0]], t => t.t()),
                // c_attn: this parameter's third of the joined output dimension.
                Gpt2HfNames.Storage.Fused when entry.Hf.EndsWith(".weight", StringComparison.Ordinal) => new(source, [e, 3 * e], t => t.narrow(1, part * e, e).t()),
                Gpt2HfNames.Storage.Fused => new(source, [3 * e], t => t.narrow(0, part * e, e)),
                _ => new(source, shape, Same),
            };
        }

        /// <summary>Set by the loader when the file carries an untied <c>lm_head.weight</c>.</summary>
        public bool HasLmHead { get; init; }
    }
}
