using LlmForge.Model;
using static TorchSharp.torch;

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
        string? cachedName = null;
        Tensor? cached = null;
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
                if (!shape.SequenceEqual(mapping.SourceShape))
                {
                    problems.Add($"tensor '{mapping.Source}' has shape {Show(shape)}, expected {Show(mapping.SourceShape)}");
                    continue;
                }
                if (!source.DType(mapping.Source).IsFloatingPoint())
                {
                    problems.Add($"tensor '{mapping.Source}' has dtype {source.DType(mapping.Source)}, expected a floating-point type");
                    continue;
                }
                // c_attn feeds three parameters: read it once.
                if (cachedName != mapping.Source)
                {
                    cached?.Dispose();
                    cached = source.Read(mapping.Source);
                    cachedName = mapping.Source;
                }
                using var value = mapping.Transform(cached!);
                parameter.copy_(value);
            }
        }
        finally
        {
            cached?.Dispose();
        }
        foreach (var name in source.Names.Where(n => !used.Contains(n) && !layout.IsIgnored(n)).Order())
            problems.Add($"unexpected tensor '{name}' (shape {Show(source.Shape(name))})");
        if (problems.Count > 0)
        {
            string more = problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "";
            throw new BadInputException($"{source.Path}: does not fit the model ({config.NLayers} layers, {config.EmbDim} dims, {config.VocabSize} tokens): {string.Join("; ", problems.Take(5))}{more}");
        }
    }

    static string Show(long[] shape) => $"[{string.Join(", ", shape)}]";

    static bool IsFloatingPoint(this ScalarType dtype) =>
        dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
}
