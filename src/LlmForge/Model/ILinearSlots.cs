namespace LlmForge.Model;

/// <summary>
/// A module whose linear layers sit in named slots that another module can take: what lets LoRA
/// (appendix E) wrap <c>W_query</c> or <c>out_head</c> without the model knowing. The slot names are the
/// book's submodule names, so an unwrapped model keeps its parameter names.
/// </summary>
public interface ILinearSlots
{
    /// <summary>The slots' names (<c>W_query</c>, <c>out_proj</c>, <c>0</c>, ...).</summary>
    IReadOnlyList<string> LinearSlots { get; }

    nn.Module<Tensor, Tensor> GetSlot(string name);

    /// <summary>Puts <paramref name="module"/> in the slot; the caller owns what was there.</summary>
    void SetSlot(string name, nn.Module<Tensor, Tensor> module);
}
