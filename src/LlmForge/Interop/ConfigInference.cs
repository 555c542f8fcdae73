namespace LlmForge.Interop;

/// <summary>
/// Reads a model's shape off its tensors when no config file is given: vocabulary, context and width
/// from the embeddings, layers by counting blocks, query/key/value biases by their presence. The
/// number of heads is not in any shape, so it is taken from the GPT-2 size with that width.
/// </summary>
public static class ConfigInference
{
    static readonly Dictionary<long, int> HeadsByWidth = GptConfig.Presets.Values.ToDictionary(c => (long)c.EmbDim, c => c.NHeads);

    public static GptConfig Infer(IWeightSource source, WeightLayout layout)
    {
        bool book = layout is WeightLayout.Book;
        string prefix = !book && source.Names.Contains("transformer.wte.weight") ? "transformer." : "";
        string tokens = book ? "tok_emb.weight" : prefix + "wte.weight";
        string positions = book ? "pos_emb.weight" : prefix + "wpe.weight";
        if (!source.Names.Contains(positions))
            throw new BadInputException($"{source.Path}: no '{positions}' tensor to read the context length from");
        long[] embedding = source.Shape(tokens);
        if (embedding.Length != 2)
            throw new BadInputException($"{source.Path}: '{tokens}' has {embedding.Length} dimensions, expected 2 (vocabulary × width)");
        string blockPrefix = book ? "trf_blocks." : prefix + "h.";
        int layers = source.Names.Where(n => n.StartsWith(blockPrefix, StringComparison.Ordinal))
            .Select(n => n[blockPrefix.Length..].Split('.')[0]).Distinct().Count();
        string queryBias = book ? "trf_blocks.0.att.W_query.bias" : prefix + "h.0.attn.c_attn.bias";
        if (!HeadsByWidth.TryGetValue(embedding[1], out int heads))
            throw new BadInputException($"{source.Path}: its width {embedding[1]} is not a GPT-2 size's, so the number of heads is unknown; give the model's config (--config)");
        // Sizes come from the file's header: a wrong one must not wrap around when narrowed to an int.
        int Size(long value, string what) => value is > 0 and <= int.MaxValue ? (int)value
            : throw new BadInputException($"{source.Path}: its {what} {value} is not a size from 1 to {int.MaxValue}");
        return new GptConfig
        {
            VocabSize = Size(embedding[0], $"'{tokens}' rows (vocabulary)"),
            EmbDim = Size(embedding[1], $"'{tokens}' columns (width)"),
            ContextLength = Size(source.Shape(positions)[0], $"'{positions}' rows (context length)"),
            NLayers = layers,
            NHeads = heads,
            QkvBias = source.Names.Contains(queryBias),
            DropRate = 0.0,
        }.Validated(source.Path);
    }
}
