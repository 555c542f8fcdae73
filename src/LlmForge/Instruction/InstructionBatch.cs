namespace LlmForge.Instruction;

/// <summary>
/// A batch of instruction texts: next-token inputs and targets, each <c>[BatchSize, Length]</c>, row-major;
/// targets the loss skips are <see cref="InstructionCollate.IgnoreIndex"/>.
/// </summary>
public sealed record InstructionBatch(long[] Inputs, long[] Targets, int BatchSize, int Length)
{
    public Tensor InputTensor(Device? device = null) => torch.tensor(Inputs, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor TargetTensor(Device? device = null) => torch.tensor(Targets, [BatchSize, Length], ScalarType.Int64, device);

    public long[] InputRow(int row) => Inputs.AsSpan(row * Length, Length).ToArray();

    public long[] TargetRow(int row) => Targets.AsSpan(row * Length, Length).ToArray();

    /// <summary>Targets the loss counts (not <see cref="InstructionCollate.IgnoreIndex"/>).</summary>
    public long CountedTargets
    {
        get
        {
            long counted = 0;
            foreach (long target in Targets) if (target != InstructionCollate.IgnoreIndex) counted++;
            return counted;
        }
    }
}
