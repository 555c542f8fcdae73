namespace LlmForge.Preference;

/// <summary>
/// A batch of preference pairs: chosen and rejected ids, each <c>[BatchSize, Length]</c> row-major and
/// padded to the same length, and for each a mask that is true at the response tokens (the positions
/// whose log-probabilities count).
/// </summary>
public sealed record PreferenceBatch(long[] Chosen, long[] Rejected, bool[] ChosenMask, bool[] RejectedMask, int BatchSize, int Length)
{
    public Tensor ChosenTensor(Device? device = null) => torch.tensor(Chosen, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor RejectedTensor(Device? device = null) => torch.tensor(Rejected, [BatchSize, Length], ScalarType.Int64, device);

    public Tensor ChosenMaskTensor(Device? device = null) => torch.tensor(ChosenMask, [BatchSize, Length], ScalarType.Bool, device);

    public Tensor RejectedMaskTensor(Device? device = null) => torch.tensor(RejectedMask, [BatchSize, Length], ScalarType.Bool, device);

    public long[] ChosenRow(int row) => Chosen.AsSpan(row * Length, Length).ToArray();

    public long[] RejectedRow(int row) => Rejected.AsSpan(row * Length, Length).ToArray();

    public bool[] ChosenMaskRow(int row) => ChosenMask.AsSpan(row * Length, Length).ToArray();

    public bool[] RejectedMaskRow(int row) => RejectedMask.AsSpan(row * Length, Length).ToArray();
}
