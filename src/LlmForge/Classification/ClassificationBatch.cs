namespace LlmForge.Classification;

/// <summary>
/// A batch of padded texts: ids <c>[BatchSize, Length]</c> row-major, a class index per row, and each
/// row's count of real (not padding) ids.
/// </summary>
public sealed record ClassificationBatch(long[] Inputs, long[] Labels, long[] Lengths, int BatchSize, int Length)
{
    public Tensor InputTensor(Device? device = null) => torch.tensor(Inputs, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor LabelTensor(Device? device = null) => torch.tensor(Labels, [BatchSize], ScalarType.Int64, device);

    public Tensor LengthTensor(Device? device = null) => torch.tensor(Lengths, [BatchSize], ScalarType.Int64, device);

    public long[] InputRow(int row) => Inputs.AsSpan(row * Length, Length).ToArray();
}
