namespace LlmForge.Tests;

public class DataLoaderTests
{
    static readonly int[] VerdictIds = TokenizerLoader.Gpt2Default.Encode(File.ReadAllText(TestPaths.Verdict));

    [Fact]
    public void FirstBatchIsTheBooks()
    {
        var loader = new DataLoader(new GptDataset(VerdictIds, maxLength: 4, stride: 1), batchSize: 1);
        var batches = loader.Batches().Take(2).ToList();
        Assert.Equal([40L, 367, 2885, 1464], batches[0].Inputs);
        Assert.Equal([367L, 2885, 1464, 1807], batches[0].Targets);
        // The book's second batch: the window moved by the stride.
        Assert.Equal([367L, 2885, 1464, 1807], batches[1].Inputs);
        Assert.Equal([2885L, 1464, 1807, 3619], batches[1].Targets);
    }

    [Fact]
    public void WindowsFollowTheBooksRange()
    {
        // range(0, len - max_length, stride)
        Assert.Equal(5141, new GptDataset(VerdictIds, 4, 1).Count);
        Assert.Equal((5145 - 256 + 255) / 256, new GptDataset(VerdictIds, 256, 256).Count);
        var dataset = new GptDataset(VerdictIds, 4, 4);
        Assert.Equal(VerdictIds[8..12], dataset.Input(2).ToArray());
        Assert.Equal(VerdictIds[9..13], dataset.Target(2).ToArray());
    }

    [Fact]
    public void BatchesOfEightGiveTheBooksTensorShape()
    {
        var loader = new DataLoader(new GptDataset(VerdictIds, 4, 4), batchSize: 8);
        var batch = loader.Batches().First();
        using var inputs = batch.InputTensor();
        Assert.Equal([8L, 4], inputs.shape);
        Assert.Equal(torch.int64, inputs.dtype);
        Assert.Equal(VerdictIds[..4].Select(i => (long)i), inputs[0].data<long>().ToArray());
    }

    [Fact]
    public void DropLastDropsOnlyThePartialBatch()
    {
        var dataset = new GptDataset(VerdictIds[..103], 4, 4); // windows at 0, 4, ..., 96: 25
        Assert.Equal(25, dataset.Count);
        Assert.Equal(3, new DataLoader(dataset, 8, dropLast: true).Batches().Count());
        var kept = new DataLoader(dataset, 8, dropLast: false).Batches().ToList();
        Assert.Equal(4, kept.Count);
        Assert.Equal(1, kept[^1].BatchSize);
    }

    [Fact]
    public void ShuffleIsAPermutationFixedBySeedAndEpoch()
    {
        var dataset = new GptDataset(VerdictIds, 4, 4);
        var loader = new DataLoader(dataset, 2, shuffle: true, seed: 123);
        var epoch0 = loader.Order(0);
        Assert.Equal(Enumerable.Range(0, dataset.Count), epoch0.Order());
        Assert.NotEqual(Enumerable.Range(0, dataset.Count), epoch0);
        Assert.Equal(epoch0, new DataLoader(dataset, 2, shuffle: true, seed: 123).Order(0));
        Assert.NotEqual(epoch0, loader.Order(1));
        Assert.NotEqual(epoch0, new DataLoader(dataset, 2, shuffle: true, seed: 124).Order(0));
        // Resuming at batch k gives the same batches as the full epoch from k.
        var all = loader.Batches(epoch: 1).ToList();
        var resumed = loader.Batches(epoch: 1, skip: 5).ToList();
        Assert.Equal(all[5].Inputs, resumed[0].Inputs);
    }

    [Fact]
    public void BadSizesAreRejectedWithTheirValues()
    {
        Assert.Contains("needs more than 6000 tokens", Assert.Throws<BadInputException>(() => new GptDataset(VerdictIds, 6000, 1)).Message);
        Assert.Throws<BadInputException>(() => new GptDataset(VerdictIds, 4, 0));
        Assert.Throws<BadInputException>(() => new DataLoader(new GptDataset(VerdictIds, 4, 1), 0));
    }
}
