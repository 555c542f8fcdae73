namespace LlmForge.Tests;

/// <summary>
/// A classifier as a model (issue 11, chapter 6): a head built from the book's own saved classifier,
/// the class names kept with the model through a checkpoint, and refused where they are wrong.
/// </summary>
public sealed class ClassifierModelTests() : ScratchDirectory("llmforge-classifier-model")
{
    static string Finetune(string name) => Path.Combine(TestPaths.Fixture("tiny-finetune"), name);

    static readonly JsonNode Expected = JsonNode.Parse(File.ReadAllText(Finetune("expected.json")))!["classification"]!;

    static GptModel TinyClassifier(string[]? labels)
    {
        manual_seed(11);
        var model = new GptModel(GptConfig.Load(TestPaths.TinyConfig));
        model.ReplaceOutputHead(nn.Linear(32, 2, hasBias: true), labels);
        model.eval();
        return model;
    }

    static Tensor SomeIds() => tensor(new long[] { 40, 1807, 3619, 402, 271, 10899, 2138, 257 }, [1, 8]);

    /// <summary>Rewrites a checkpoint's config.json (and its checksum, so the change is not taken for damage).</summary>
    static void EditConfig(string checkpoint, Action<JsonObject> edit)
    {
        string path = Path.Combine(checkpoint, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
        var list = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile)))!.AsObject();
        list["config.json"] = FileHash.Sha256(path);
        File.WriteAllText(Path.Combine(checkpoint, Checkpoint.ChecksumsFile), list.ToJsonString());
    }

    [Fact]
    public void TheBooksSavedClassifierLoadsWithItsTwoOutputHeadAndGivesTheReferenceLogits()
    {
        // Before: "does not fit the model ...: tensor 'out_head.weight' has shape [2, 32], expected [50257, 32]".
        using var loaded = ModelLoader.Load(Finetune("classifier_init_book.pth"), FixtureModel.BookConfig);
        Assert.Equal(2, loaded.Model.OutputSize);
        Assert.False(loaded.Model.HasVocabularyHead);
        Assert.Contains("out_head.bias", loaded.Model.named_parameters().Select(p => p.name));
        Assert.Null(loaded.Labels);

        long[] ids = Expected["first_example_ids"]!.AsArray().Select(i => (long)i!.GetValue<int>()).ToArray();
        int padded = Expected["padded_length"]!.GetValue<int>();
        long[] input = [.. ids, .. Enumerable.Repeat(50256L, padded - ids.Length)];
        using var logits = loaded.Model.forward(tensor(input, [1, padded]), null)[0, -1];
        double[] expected = Expected["first_example_last_logits_before"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int i = 0; i < 2; i++)
            Assert.True(Math.Abs(logits[i].item<float>() - expected[i]) < 1e-4, $"logit {i}: expected {expected[i]}, got {logits[i].item<float>()}");
    }

    [Fact]
    public void AClassifiersLabelsRoundTripThroughItsCheckpoint()
    {
        using var model = TinyClassifier(["ham", "spam"]);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "classifier"), model);
        var head = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!["output_head"]!;
        Assert.Equal("""{"size":2,"bias":true,"labels":["ham","spam"]}""", head.ToJsonString());

        using var loaded = ModelLoader.Load(checkpoint);
        Assert.Equal(["ham", "spam"], loaded.Labels!);
        using var ids = SomeIds();
        Assert.True(model.forward(ids, null).allclose(loaded.Model.forward(ids, null), rtol: 0, atol: 0));
        // A language model has none.
        using var language = ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig);
        Assert.Null(language.Labels);
    }

    [Fact]
    public void ACheckpointWrittenBeforeLabelsStillLoads()
    {
        using var model = TinyClassifier(null);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "old"), model);
        var head = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!["output_head"]!;
        Assert.Equal("""{"size":2,"bias":true}""", head.ToJsonString());
        using var loaded = ModelLoader.Load(checkpoint);
        Assert.Equal(2, loaded.Model.OutputSize);
        Assert.Null(loaded.Labels);
        // Names given later (a book classifier fine-tuned on labelled data) are kept from then on.
        loaded.Model.Labels = ["ham", "spam"];
        Assert.Equal(["ham", "spam"], loaded.Labels!);
    }

    [Theory]
    [InlineData("""["ham"]""", "has 1 labels for a head of size 2")]
    [InlineData("""["ham", "ham"]""", "names the label \"ham\" more than once")]
    [InlineData("""["ham", 3]""", "'labels' must be an array of strings")]
    [InlineData("\"ham\"", "'labels' must be an array of strings")]
    public void WrongLabelsInAConfigAreRefusedThroughTheCli(string labels, string expected)
    {
        using var model = TinyClassifier(["ham", "spam"]);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "bad"), model);
        EditConfig(checkpoint, config => config["output_head"]!["labels"] = JsonNode.Parse(labels));
        var result = CliRunner.Run("model", "info", "--model", checkpoint);
        CliRunner.AssertBadInput(result, $"{Path.Combine(checkpoint, "config.json")}: 'output_head' ");
        Assert.Contains(expected, result.Stderr);
    }

    [Fact]
    public void LabelsThatDoNotFitTheHeadAreRefusedInCode()
    {
        using var model = TinyClassifier(null);
        Assert.Throws<ArgumentException>(() => model.Labels = ["ham"]);
        Assert.Throws<ArgumentException>(() => model.Labels = ["ham", "ham"]);
        Assert.Throws<ArgumentException>(() => model.ReplaceOutputHead(nn.Linear(32, 3, hasBias: true), ["a", "b"]));
        Assert.Null(model.Labels);
    }

    [Fact]
    public void AClassifierIsNotExportedToTheHuggingFaceLayout()
    {
        using var model = TinyClassifier(["ham", "spam"]);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "classifier"), model);
        string export = Path.Combine(_dir, "export");
        var result = CliRunner.Run("export", "--model", checkpoint, "--out", export);
        CliRunner.AssertBadInput(result, $"--model {checkpoint}: is a classifier (2 classes: ham, spam); the Hugging Face GPT-2 layout holds only a language model's vocabulary head");
        Assert.False(Directory.Exists(export));
        Assert.Empty(Directory.EnumerateDirectories(_dir, ".tmp-export-*"));
    }
}
