namespace LlmForge.Tests;

public class ClassificationLoaderTests
{
    // 11 examples: text i is i+1 ids of 7, label i % 2.
    static readonly ClassificationDataset Eleven = new(
        Enumerable.Range(0, 11).Select(i => Enumerable.Repeat(7, i + 1).ToArray()).ToArray(),
        Enumerable.Range(0, 11).Select(i => i % 2).ToArray(), length: 6, padId: 99);

    [Fact]
    public void RowsArePaddedOrTruncatedWithRealLengths()
    {
        var batch = new ClassificationLoader(Eleven, 4).Batches().First();
        Assert.Equal([7L, 99, 99, 99, 99, 99], batch.InputRow(0));
        Assert.Equal([7L, 7, 7, 7, 99, 99], batch.InputRow(3));
        Assert.Equal([1L, 2, 3, 4], batch.Lengths);
        Assert.Equal([0L, 1, 0, 1], batch.Labels);
        var last = new ClassificationLoader(Eleven, 4, dropLast: false).Batches().Last();
        Assert.Equal([7L, 7, 7, 7, 7, 7], last.InputRow(2)); // 11 ids cut to 6
        Assert.Equal([6L, 6, 6], last.Lengths);
        using var inputs = last.InputTensor();
        Assert.Equal([3L, 6], inputs.shape);
    }

    [Fact]
    public void DropLastAndShuffleFollowTheDataLoadersRules()
    {
        Assert.Equal(2, new ClassificationLoader(Eleven, 4, dropLast: true).Batches().Count());
        Assert.Equal(3, new ClassificationLoader(Eleven, 4, dropLast: false).Count);
        var loader = new ClassificationLoader(Eleven, 3, shuffle: true, seed: 123);
        var epoch0 = loader.Order(0);
        Assert.Equal(Enumerable.Range(0, 11), epoch0.Order());
        Assert.NotEqual(Enumerable.Range(0, 11), epoch0);
        Assert.NotEqual(epoch0, loader.Order(1));
        // The same permutation as a DataLoader with the same seed: one order rule for every loader.
        Assert.Equal(new LlmForge.Data.BatchOrder(11, 3, true, true, 123).Order(1), loader.Order(1));
        // Resuming at batch k gives the same batches as the full epoch from k.
        var all = loader.Batches(epoch: 1).ToList();
        var resumed = new ClassificationLoader(Eleven, 3, shuffle: true, seed: 123).Batches(epoch: 1, skip: 2).ToList();
        Assert.Single(resumed);
        Assert.Equal(all[2].Inputs, resumed[0].Inputs);
        Assert.Equal(all[2].Labels, resumed[0].Labels);
        Assert.Equal("batch size must be at least 1, got 0", Assert.Throws<BadInputException>(() => new ClassificationLoader(Eleven, 0)).Message);
    }
}
