namespace LlmForge.Interop;

/// <summary>
/// Copies a file's tensors into a <see cref="GptModel"/>, one at a time. Every parameter must be found
/// with the right shape and every tensor in the file must be used (or be a known buffer); anything
/// else is an error that names the file, the tensor and both shapes.
/// </summary>
public static class WeightLoader
{
    public static void Load(GptModel model, IWeightSource source, WeightLayout layout)
    {
        var config = model.Config;
        var problems = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        // Tensors that need reshaping go through one scratch buffer, sized for the largest of them,
        // so that loading holds the model plus at most one tensor: never two copies of the weights.
        Tensor? scratch = null;
        string? scratchHolds = null;
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in model.named_parameters())
            {
                var mapping = layout.Map(name, parameter.shape, config);
                if (!source.Names.Contains(mapping.Source))
                {
                    problems.Add($"missing tensor '{mapping.Source}' (for {name}, shape {Show(mapping.SourceShape)})");
                    continue;
                }
                used.Add(mapping.Source);
                long[] shape = source.Shape(mapping.Source);
                var dtype = source.DType(mapping.Source);
                if (!shape.SequenceEqual(mapping.SourceShape))
                {
                    problems.Add($"tensor '{mapping.Source}' has shape {Show(shape)}, expected {Show(mapping.SourceShape)}");
                    continue;
                }
                if (!dtype.IsFloatingPoint())
                {
                    problems.Add($"tensor '{mapping.Source}' has dtype {dtype}, expected a floating-point type");
                    continue;
                }
                if (problems.Count > 0) continue; // keep checking, stop reading
                if (mapping.IsDirect && dtype == parameter.dtype)
                {
                    source.ReadInto(mapping.Source, parameter);
                    continue;
                }
                long elements = shape.Aggregate(1L, (a, d) => a * d);
                if (scratch is null || scratch.dtype != dtype || scratch.numel() < elements)
                {
                    scratch?.Dispose();
                    scratch = empty(LargestOfDType(model, source, layout, dtype), dtype);
                    scratchHolds = null;
                }
                using var view = scratch.narrow(0, 0, elements).view(shape);
                // c_attn feeds three parameters: read it once.
                if (scratchHolds != mapping.Source)
                {
                    source.ReadInto(mapping.Source, view);
                    scratchHolds = mapping.Source;
                }
                using var value = mapping.Transform(view);
                parameter.copy_(value);
            }
        }
        finally
        {
            scratch?.Dispose();
        }
        foreach (var name in source.Names.Where(n => !used.Contains(n) && !layout.IsIgnored(n)).Order())
            problems.Add($"unexpected tensor '{name}' (shape {Show(source.Shape(name))})");
        if (problems.Count > 0)
        {
            string more = problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "";
            throw new BadInputException($"{source.Path}: does not fit the model ({config.NLayers} layers, {config.EmbDim} dims, {config.VocabSize} tokens): {string.Join("; ", problems.Take(5))}{more}");
        }
    }

    /// <summary>Elements of the largest tensor of <paramref name="dtype"/> that goes through the scratch buffer.</summary>
    static long LargestOfDType(GptModel model, IWeightSource source, WeightLayout layout, ScalarType dtype) =>
        model.named_parameters()
            .Select(p => layout.Map(p.name, p.parameter.shape, model.Config))
            .Where(m => source.Names.Contains(m.Source) && source.DType(m.Source) == dtype)
            .Max(m => source.Shape(m.Source).Aggregate(1L, (a, d) => a * d));

    static string Show(long[] shape) => $"[{string.Join(", ", shape)}]";

    static bool IsFloatingPoint(this ScalarType dtype) =>
        dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
}
