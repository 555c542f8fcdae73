namespace LlmForge.Model;

/// <summary>
/// Replaces linear layers of a model by wrappers of them (LoRA's <c>LinearWithLoRA</c>, appendix E),
/// found by their parameter path (<c>trf_blocks.0.att.W_query</c>): the model only exposes its slots
/// (<see cref="ILinearSlots"/>). A wrapper that keeps the layer as a submodule renames its parameters
/// below it (<c>W_query.linear.weight</c>), as the book's does.
/// </summary>
public static class LinearWrapping
{
    /// <summary>The path of every linear slot of <paramref name="model"/>, in module order.</summary>
    public static IReadOnlyList<string> Paths(ILanguageModel model) => Slots(model).Select(s => s.Path).ToList();

    /// <summary>Wraps the slots whose path <paramref name="select"/> accepts; returns how many were wrapped.</summary>
    public static int Wrap(ILanguageModel model, Func<string, bool> select, Func<string, nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>> wrap)
    {
        int wrapped = 0;
        foreach (var (path, owner, slot) in Slots(model).Where(s => select(s.Path)).ToList())
        {
            owner.SetSlot(slot, wrap(path, owner.GetSlot(slot)));
            wrapped++;
        }
        return wrapped;
    }

    static IEnumerable<(string Path, ILinearSlots Owner, string Slot)> Slots(ILanguageModel model)
    {
        if (model.Module is ILinearSlots top)
            foreach (var slot in top.LinearSlots) yield return (slot, top, slot);
        foreach (var (name, module) in model.Module.named_modules())
            if (module is ILinearSlots owner && !ReferenceEquals(module, model.Module))
                foreach (var slot in owner.LinearSlots) yield return ($"{name}.{slot}", owner, slot);
    }

    /// <summary>Replaces a registered submodule: TorchSharp unregisters a name given null, then takes the new one.</summary>
    internal static void Reregister(nn.Module owner, string name, nn.Module module)
    {
        owner.register_module(name, null!);
        owner.register_module(name, module);
    }
}
