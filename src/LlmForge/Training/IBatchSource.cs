namespace LlmForge.Training;

/// <summary>
/// A trainer's batches: a fixed number per epoch, in an order that depends only on the epoch (and
/// the seed it was made with), so that a resumed run takes exactly the batches the uninterrupted one would.
/// </summary>
public interface IBatchSource<out TBatch>
{
    /// <summary>Batches in one epoch.</summary>
    int Count { get; }

    /// <summary>The batches of <paramref name="epoch"/>, from batch <paramref name="skip"/> on.</summary>
    IEnumerable<TBatch> Batches(int epoch = 0, int skip = 0);
}
