namespace LlmForge.Model;

/// <summary>
/// Lays a model's weight matrices out in one block of memory, in the order the forward pass reads them, for
/// generation. Decoding a token streams every weight once (<see cref="DecodeLinear"/>); as separate allocations the
/// matrices each start a new stream, and those under 2 MB get no huge pages (libtorch asks for them above that), so
/// the memory's prefetchers restart dozens of times a token. One block is read as one stream, in 2 MB pages.
/// </summary>
/// <remarks>
/// Each 2-D parameter becomes a view of the block (<c>Tensor.set_</c>): the same Parameter objects with the same
/// values, so everything holding them (LoRA, an optimiser, a checkpoint writer) is unaffected. The block is filled a
/// matrix at a time and each old allocation freed as it is replaced, so memory peaks at about twice the weights;
/// where that is not free the model is left as it is.
/// </remarks>
public static class WeightArena
{
    /// <summary>Packs <paramref name="model"/>'s CPU weight matrices; returns the bytes packed (0 when left as it was).</summary>
    public static long Pack(ILanguageModel model)
    {
        var matrices = model.Module.parameters().Where(p => p.dim() == 2 && p.device_type == DeviceType.CPU).Select(p => (Tensor)p).ToList();
        if (matrices.Count == 0) return 0;
        var dtype = matrices[0].dtype;
        if (matrices.Any(m => m.dtype != dtype)) return 0;
        // Each matrix starts on a 64-byte line.
        long align = 64 / matrices[0].element_size(), total = 0;
        var offsets = new List<long>();
        foreach (var m in matrices)
        {
            offsets.Add(total);
            total += (m.numel() + align - 1) / align * align;
        }
        long bytes = total * matrices[0].element_size();
        if (bytes > MemoryBudget.AvailableBytes() * 0.8) return 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var block = empty(total, dtype: dtype);
        for (int i = 0; i < matrices.Count; i++)
        {
            var view = block.narrow(0, offsets[i], matrices[i].numel()).view(matrices[i].shape);
            view.copy_(matrices[i]);
            matrices[i].set_(view);
        }
        return bytes;
    }
}
