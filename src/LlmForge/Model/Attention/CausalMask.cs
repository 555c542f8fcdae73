namespace LlmForge.Model.Attention;

/// <summary>
/// The causal mask: true where a query may not look, at keys after its own position. Queries are
/// the positions <c>past .. past+queries-1</c> (a KV cache holds the <paramref name="past"/> earlier keys).
/// </summary>
public static class CausalMask
{
    public static Tensor Create(long queries, long past, Device device) =>
        ones(queries, past + queries, ScalarType.Bool, device).triu(past + 1);
}
