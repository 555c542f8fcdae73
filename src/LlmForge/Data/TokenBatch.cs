namespace LlmForge.Data;

/// <summary>
/// A batch of next-token inputs and targets, each <c>[BatchSize, Length]</c>, row-major: pretraining's
/// windows, or chapter 7's instruction texts, whose padding targets are <see cref="IgnoreIndex"/>.
/// </summary>
public sealed record TokenBatch(long[] Inputs, long[] Targets, int BatchSize, int Length)
{
    public Tensor InputTensor(Device? device = null) => torch.tensor(Inputs, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor TargetTensor(Device? device = null) => torch.tensor(Targets, [BatchSize, Length], ScalarType.Int64, device);

    public long[] InputRow(int row) => Inputs.AsSpan(row * Length, Length).ToArray();

    public long[] TargetRow(int row) => Targets.AsSpan(row * Length, Length).ToArray();

    /// <summary>A target the loss skips (PyTorch's <c>ignore_index</c> default).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Targets the loss counts (not <see cref="IgnoreIndex"/>).</summary>
    public long CountedTargets
    {
        get
        {
            long counted = 0;
            foreach (long target in Targets) if (target != IgnoreIndex) counted++;
            return counted;
        }
    }
}
