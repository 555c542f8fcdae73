namespace LlmForge.Tests;

/// <summary>The book's end of chapter 2: token plus position embeddings of a batch.</summary>
public class EmbeddingTests
{
    [Fact]
    public void TokenAndPositionEmbeddingsHaveTheBooksShapes()
    {
        torch.manual_seed(123);
        const int vocabSize = 50257, outputDim = 256, contextLength = 4;
        int[] ids = TokenizerLoader.Gpt2Default.Encode(File.ReadAllText(TestPaths.Verdict));
        var batch = new DataLoader(new GptDataset(ids, contextLength, contextLength), batchSize: 8).Batches().First();

        using var tokenEmbedding = torch.nn.Embedding(vocabSize, outputDim);
        using var positionEmbedding = torch.nn.Embedding(contextLength, outputDim);
        using var inputs = batch.InputTensor();
        using var tokenEmbeddings = tokenEmbedding.forward(inputs);
        using var positions = torch.arange(contextLength);
        using var positionEmbeddings = positionEmbedding.forward(positions);
        using var inputEmbeddings = tokenEmbeddings + positionEmbeddings;

        Assert.Equal([8L, 4], inputs.shape);
        Assert.Equal([8L, 4, 256], tokenEmbeddings.shape);
        Assert.Equal([4L, 256], positionEmbeddings.shape);
        Assert.Equal([8L, 4, 256], inputEmbeddings.shape);
        // The lookup is a row selection: token 40's vector is row 40 of the weight matrix.
        using var row40 = tokenEmbedding.weight![40];
        Assert.True(tokenEmbeddings[0, 0].allclose(row40, rtol: 0, atol: 0));
        // Broadcasting adds the same position vector to every row of the batch.
        using var difference = inputEmbeddings[3, 2] - tokenEmbeddings[3, 2];
        Assert.True(torch.allclose(difference, positionEmbeddings[2]));
    }
}
