namespace LlmForge.Data;

/// <summary>A batch of windows: inputs and targets, each <c>[BatchSize, Length]</c>, row-major.</summary>
public sealed record TokenBatch(long[] Inputs, long[] Targets, int BatchSize, int Length)
{
    public Tensor InputTensor(Device? device = null) => torch.tensor(Inputs, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor TargetTensor(Device? device = null) => torch.tensor(Targets, [BatchSize, Length], ScalarType.Int64, device);

    public long[] InputRow(int row) => Inputs.AsSpan(row * Length, Length).ToArray();

    public long[] TargetRow(int row) => Targets.AsSpan(row * Length, Length).ToArray();
}
