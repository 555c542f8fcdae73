using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// LoRA on a whole model (appendix E): wrap the linear layers of the transformer blocks and the head
/// with adapters (<see cref="LinearWithLoRA"/>), train only the adapters, and fold them back into plain
/// linear layers (<see cref="Merge"/>) for an export. The model finds nothing of this: the layers are
/// taken through its linear slots (<see cref="LinearWrapping"/>).
/// </summary>
/// <remarks>In <c>LlmForge.Model</c> rather than a namespace of its own: a type may not share its namespace's name.</remarks>
public static class LoRA
{
    /// <summary>The layers appendix E wraps: every linear layer of the transformer blocks, and the output head.</summary>
    public static bool IsDefaultTarget(string path) => path.StartsWith("trf_blocks.", StringComparison.Ordinal) || path == "out_head";

    /// <summary>Whether a parameter belongs to an adapter (<c>X.lora.A</c>, <c>X.lora.B</c>).</summary>
    public static bool IsAdapterParameter(string name) => name.EndsWith(".lora.A", StringComparison.Ordinal) || name.EndsWith(".lora.B", StringComparison.Ordinal);

    /// <summary>
    /// Wraps the linear layers <paramref name="select"/> accepts (by default <see cref="IsDefaultTarget"/>) with
    /// adapters of <paramref name="rank"/> and <paramref name="alpha"/>; A is drawn from torch's generator
    /// (<c>manual_seed</c> makes it reproducible). Returns how many layers were wrapped.
    /// </summary>
    public static int Apply(ILanguageModel model, int rank, double alpha, Func<string, bool>? select = null)
    {
        if (rank < 1) throw new BadInputException($"--lora-rank {rank}: expected a positive integer");
        if (!double.IsFinite(alpha)) throw new BadInputException($"--lora-alpha {alpha}: expected a finite number");
        if (Settings(model) is var (had, hadAlpha))
            throw new BadInputException($"--lora-rank {rank}: the model already carries LoRA adapters (rank {had}, alpha {hadAlpha}), which cannot be wrapped again; start from a model without them");
        return LinearWrapping.Wrap(model, select ?? IsDefaultTarget, (path, layer) => layer is Linear linear
            ? new LinearWithLoRA(linear, rank, alpha)
            : throw new InvalidOperationException($"{path} is not a plain linear layer, so LoRA cannot wrap it"));
    }

    /// <summary>
    /// Freezes every parameter but the adapters' (the base weights, embeddings, norms and the head's own
    /// weights too, as the book does); returns the number of trainable parameters left. A caller that wants
    /// more to train (the head, the last block) unfreezes it afterwards.
    /// </summary>
    public static long FreezeAllButAdapters(ILanguageModel model)
    {
        long trainable = 0;
        foreach (var (name, parameter) in model.Module.named_parameters())
        {
            parameter.requires_grad = IsAdapterParameter(name);
            if (parameter.requires_grad) trainable += parameter.numel();
        }
        return trainable;
    }

    /// <summary>The paths of the wrapped layers (<c>trf_blocks.0.att.W_query</c>, ...), in module order.</summary>
    public static IReadOnlyList<string> WrappedPaths(ILanguageModel model) =>
        model.Module.named_modules().Where(m => m.module is LinearWithLoRA).Select(m => m.name).ToList();

    /// <summary>The adapters' rank and alpha, or null for a model without adapters.</summary>
    public static (int Rank, double Alpha)? Settings(ILanguageModel model)
    {
        var adapters = model.Module.modules().OfType<LinearWithLoRA>().Select(w => (w.lora.Rank, w.lora.Alpha)).Distinct().ToList();
        return adapters.Count switch
        {
            0 => null,
            1 => adapters[0],
            // Apply gives every layer the same settings, and config.json records one pair.
            _ => throw new InvalidOperationException("the model's adapters have different ranks or alphas"),
        };
    }

    /// <summary>
    /// Folds each adapter into its layer (<c>W + (alpha / rank) · (A · B)ᵀ</c>) and puts the plain linear
    /// layer back in its slot, so the parameters are named <c>X.weight</c> again; returns how many were merged.
    /// </summary>
    public static int Merge(ILanguageModel model)
    {
        var wrapped = WrappedPaths(model).ToHashSet(StringComparer.Ordinal);
        var replaced = new List<nn.Module>();
        int merged = LinearWrapping.Wrap(model, wrapped.Contains, (_, layer) =>
        {
            replaced.Add(layer);
            return ((LinearWithLoRA)layer).Merged();
        });
        foreach (var module in replaced) module.Dispose();
        return merged;
    }
}
