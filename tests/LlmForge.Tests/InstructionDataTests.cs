using LlmForge.Instruction;

namespace LlmForge.Tests;

/// <summary>Instruction data (the book's chapter 7): files, splits, the Alpaca prompt, the collate, batches and the loss.</summary>
public class InstructionDataTests() : ScratchDirectory("inst-")
{
    const int Eot = 50256, Ignore = -100;
    static readonly ITokenizer Gpt2 = TokenizerLoader.Gpt2Default;

    static string Instructions8 => Path.Combine(ClassificationFixture.Dir, "instructions-8.json");

    static readonly Lazy<JsonElement> ExpectedJson = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(ClassificationFixture.Dir, "expected.json"))).RootElement.GetProperty("instruction"));

    static JsonElement Expected => ExpectedJson.Value;

    static int[] Ints(string name) => Expected.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    static long[][] Rows(JsonElement rows) => rows.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    static InstructionDataset Fixture8() => InstructionDataset.Encode(InstructionFile.Read(Instructions8).Entries, Gpt2);

    /// <summary>The first batch of 4 of instructions-8.json in file order, cut to the tiny model's context (64).</summary>
    static TokenBatch FirstBatch(bool mask) =>
        new InstructionLoader(Fixture8(), 4, maxLength: 64, shuffle: false, maskInstruction: mask).Batches().First();

    [Fact]
    public void CollateReproducesTheBooksExample()
    {
        var batch = InstructionCollate.Collate([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]], Eot);
        var example = Expected.GetProperty("book_collate_example");
        var inputs = Rows(example.GetProperty("inputs"));
        var targets = Rows(example.GetProperty("targets"));
        Assert.Equal(3, batch.BatchSize);
        Assert.Equal(5, batch.Length);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(inputs[r], batch.InputRow(r));
            Assert.Equal(targets[r], batch.TargetRow(r));
        }
        Assert.Equal([6L, Eot, Ignore, Ignore, Ignore], batch.TargetRow(1));
        using var tensor = batch.TargetTensor();
        Assert.Equal([3L, 5], tensor.shape);
    }

    [Fact]
    public void CollateKeepsTheFirstEndOfTextOfTheTargetsRowEvenWhenTheTextHasOne()
    {
        // As the book's mask `targets == pad_token_id`: an end-of-text in the text is the one kept, the appended one is ignored.
        var batch = InstructionCollate.Collate([[5, Eot, 7], [1, 2, 3, 4, 5]], Eot);
        Assert.Equal([5L, Eot, 7, Eot, Eot], batch.InputRow(0));
        Assert.Equal([(long)Eot, 7, Ignore, Ignore, Ignore], batch.TargetRow(0));
        Assert.Equal([2L, 3, 4, 5, Eot], batch.TargetRow(1));
        // A text starting with one: it is an input only, the targets keep their own first.
        var first = InstructionCollate.Collate([[Eot, 1, Eot], [1, 2, 3]], Eot);
        Assert.Equal([1L, Eot, Ignore], first.TargetRow(0));
    }

    [Fact]
    public void CollateMasksPromptTargetsThenTruncates()
    {
        // Prompt of 3 ids: the first 2 targets predict prompt tokens (ids 1 and 2) and are ignored.
        var batch = InstructionCollate.Collate([[10, 11, 12, 13, 14], [20, 21]], Eot, maxLength: 4, promptLengths: [3, 1]);
        Assert.Equal(4, batch.Length);
        Assert.Equal([10L, 11, 12, 13], batch.InputRow(0));
        Assert.Equal([(long)Ignore, Ignore, 13, 14], batch.TargetRow(0));
        Assert.Equal([21L, Eot, Ignore, Ignore], batch.TargetRow(1)); // prompt length 1 masks nothing
        // A prompt longer than the row masks the whole row.
        var all = InstructionCollate.Collate([[1, 2, 3]], Eot, promptLengths: [9]);
        Assert.Equal(0, all.CountedTargets);
        // Truncation never lengthens: rows are the longest text, at most maxLength.
        Assert.Equal(2, InstructionCollate.Collate([[1], [2, 3]], Eot, maxLength: 64).Length);
    }

    [Fact]
    public void PromptAndFullLengthsMatchTheReference()
    {
        var data = Fixture8();
        Assert.Equal(8, data.Count);
        Assert.Equal(Eot, data.PadId);
        Assert.Equal(Ints("prompt_lengths"), Enumerable.Range(0, 8).Select(data.PromptLength));
        Assert.Equal(Ints("full_lengths"), Enumerable.Range(0, 8).Select(i => data.Ids(i).Length));
    }

    [Fact]
    public void FirstBatchCountsTheReferencesTargets()
    {
        var batch = FirstBatch(mask: false);
        Assert.Equal(64, batch.Length); // entry 0 has 74 ids and is cut to the context
        Assert.Equal(Expected.GetProperty("first_batch_counted_targets").GetInt64(), batch.CountedTargets);
        var masked = FirstBatch(mask: true);
        Assert.Equal(Expected.GetProperty("first_batch_counted_targets_mask_instruction").GetInt64(), masked.CountedTargets);
        Assert.Equal(batch.Inputs, masked.Inputs); // masking changes only which targets count
    }

    [Theory]
    [InlineData(false, "losses_b4_lr5e-4_wd0.1_2epochs")]
    [InlineData(true, "losses_b4_lr5e-4_wd0.1_2epochs_mask_instruction")]
    public void FirstBatchLossMatchesTheReference(bool mask, string fixture)
    {
        using var loaded = ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig);
        loaded.Model.eval();
        double expected = Expected.GetProperty(fixture)[0].GetDouble();
        var batch = FirstBatch(mask);
        using (var noGrad = no_grad())
        {
            var (loss, count) = InstructionLoss.Batch(loaded.Model, batch);
            using (loss) Assert.Equal(expected, loss.item<float>(), 1e-4);
            Assert.Equal(batch.CountedTargets, count);
        }
        // The evaluation helper over that one batch gives the same, and leaves a training model training.
        loaded.Model.train();
        var loader = new InstructionLoader(Fixture8(), 4, maxLength: 64, maskInstruction: mask);
        Assert.Equal(expected, InstructionMetrics.MeanLoss(loaded.Model, loader, numBatches: 1), 1e-4);
        Assert.True(loaded.Model.training);
    }

    [Fact]
    public void ABatchWithNothingToCountHasAZeroLossNotNaN()
    {
        using var loaded = ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig);
        var batch = InstructionCollate.Collate([[1, 2, 3]], Eot, promptLengths: [9]);
        var (loss, count) = InstructionLoss.Batch(loaded.Model, batch);
        using (loss)
        {
            Assert.Equal(0, count);
            Assert.Equal(0f, loss.item<float>());
            loss.backward(); // it has a graph, as the training step needs
        }
    }

    [Fact]
    public void AlpacaPromptIsTheBooksFormatByteForByte()
    {
        const string preamble = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";
        var withInput = new InstructionEntry("Edit the following sentence for grammar.", "He go to the park every day.", "He goes to the park every day.");
        Assert.Equal(preamble + "\n\n### Instruction:\nEdit the following sentence for grammar.\n\n### Input:\nHe go to the park every day.",
            AlpacaPrompt.Format(withInput));
        Assert.Equal(AlpacaPrompt.Format(withInput) + "\n\n### Response:\nHe goes to the park every day.", AlpacaPrompt.TrainingText(withInput));
        var noInput = new InstructionEntry("Convert 45 kilometers to meters.", "", "45 kilometers is 45000 meters.");
        Assert.Equal(preamble + "\n\n### Instruction:\nConvert 45 kilometers to meters.", AlpacaPrompt.Format(noInput));
    }

    [Fact]
    public void ExtractResponseIsTheBooksSliceReplaceStrip()
    {
        string prompt = AlpacaPrompt.Format("Name a fruit.", "");
        Assert.Equal("An apple.", AlpacaPrompt.ExtractResponse(prompt + "\n\n### Response:\nAn apple.\n", prompt));
        Assert.Equal("a b", AlpacaPrompt.CleanResponse(" \u001f### Response: a ### Response:b\n"));
        // The prompt's length is counted in characters as Python does: an emoji is one, not two UTF-16 units.
        Assert.Equal("ok", AlpacaPrompt.ExtractResponse("x😀y ok", "a😀b"));
        Assert.Equal("", AlpacaPrompt.ExtractResponse("short", prompt));
    }

    [Fact]
    public void RealFileSplitsAsTheBook()
    {
        var file = InstructionFile.Read(TestPaths.SharedData("instruction-data.json"));
        Assert.Equal(1100, file.Entries.Count);
        var splits = InstructionSplits.FromFile(file);
        Assert.Equal((935, 110, 55), (splits.Train.Count, splits.Test.Count, splits.Validation.Count));
        // File order: train, then test, then validation.
        Assert.Same(file.Entries[0], splits.Train[0]);
        Assert.Same(file.Entries[935], splits.Test[0]);
        Assert.Same(file.Entries[1045], splits.Validation[0]);
        Assert.Same(file.Entries[1099], splits.Validation[^1]);
        // A shuffle is fixed by the seed and keeps every entry once.
        var shuffled = InstructionSplits.FromFile(file, shuffle: true, seed: 7);
        Assert.Equal(shuffled.Train, InstructionSplits.FromFile(file, shuffle: true, seed: 7).Train);
        Assert.NotEqual(splits.Train, shuffled.Train);
        Assert.NotEqual(shuffled.Train, InstructionSplits.FromFile(file, shuffle: true, seed: 8).Train);
        Assert.Equal(1100, shuffled.Train.Concat(shuffled.Test).Concat(shuffled.Validation).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public void GivenFilesAreNotSplit()
    {
        var eight = InstructionFile.Read(Instructions8);
        var splits = InstructionSplits.FromFiles(eight, eight);
        Assert.Equal(8, splits.Train.Count);
        Assert.Equal(8, splits.Validation.Count);
        Assert.Empty(splits.Test);
    }

    [Fact]
    public void TooFewEntriesToSplitNameTheEmptySet()
    {
        // Every count from MinEntries on leaves all three sets non-empty; one fewer does not.
        for (int n = InstructionSplits.MinEntries; n <= 3000; n++)
        {
            var (train, test) = InstructionSplits.Portions(n);
            Assert.True(train > 0 && test > 0 && train + test < n, $"{n} entries");
        }
        string nine = Write("nine.json", "[" + string.Join(",", Enumerable.Repeat("{\"instruction\":\"i\",\"output\":\"o\"}", 9)) + "]");
        var e = Assert.Throws<BadInputException>(() => InstructionSplits.FromFile(InstructionFile.Read(nine)));
        Assert.Equal($"{nine}: 9 entries leave the test set empty when split 85/10/5; at least 10 are needed", e.Message);
        string one = Write("one.json", "[{\"instruction\":\"i\",\"output\":\"o\"}]");
        Assert.Contains("leave the training set empty", Assert.Throws<BadInputException>(() => InstructionSplits.FromFile(InstructionFile.Read(one))).Message);
    }

    [Fact]
    public void InputMayBeMissingAndExtraFieldsAreIgnored()
    {
        string path = Write("ok.json", """
            [{"instruction": "a", "output": "b"},
             {"instruction": "c", "input": null, "output": "d", "chosen": "x", "rejected": 3},
             {"instruction": "e", "input": "f", "output": "g"}]
            """);
        var entries = InstructionFile.Read(path).Entries;
        Assert.Equal([new InstructionEntry("a", "", "b"), new InstructionEntry("c", "", "d"), new InstructionEntry("e", "f", "g")], entries);
    }

    [Theory]
    [InlineData("{\"instruction\": \"a\", \"output\": \"b\"}", ": expected a JSON array of objects, found an object")]
    [InlineData("[]", ": no entries (the JSON array is empty)")]
    [InlineData("[{\"instruction\": \"a\", \"output\": \"b\"}, \"text\"]", ": entry 1 (0-based): expected an object, found a string")]
    [InlineData("[{\"input\": \"a\", \"output\": \"b\"}]", ": entry 0 (0-based): missing \"instruction\" (expected a string)")]
    [InlineData("[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": \"a\"}]", ": entry 1 (0-based): missing \"output\" (expected a string)")]
    [InlineData("[{\"instruction\": \"a\", \"output\": 5}]", ": entry 0 (0-based): \"output\" must be a string, found a number")]
    [InlineData("[{\"instruction\": null, \"output\": \"b\"}]", ": entry 0 (0-based): \"instruction\" must be a string, found null")]
    [InlineData("[{\"instruction\": \"a\", \"input\": [\"x\"], \"output\": \"b\"}]", ": entry 0 (0-based): \"input\" must be a string, found an array")]
    [InlineData("[{\"instruction\": \"a\", \"output\": \"b\", \"output\": \"c\"}]", ": entry 0 (0-based): \"output\" is given twice")]
    [InlineData("[{\"instruction\": \"a\",\n \"output\": }]", ": not valid JSON (line 2, byte 12: '}' is an invalid start of a value); expected a JSON array of objects")]
    [InlineData("[{\"instruction\": \"a\", \"output\": \"b\"},]", ": not valid JSON (line 1, byte ")]
    public void BadInputNamesTheFileTheEntryAndTheField(string json, string expected)
    {
        string path = Write("bad.json", json);
        var e = Assert.Throws<BadInputException>(() => InstructionFile.Read(path));
        Assert.StartsWith(path + expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("System.", e.Message);
        Assert.DoesNotContain("LineNumber", e.Message);
        Assert.DoesNotContain("reader options", e.Message);
    }

    [Fact]
    public void EmptyOrMissingFileIsRefused()
    {
        string empty = Write("empty.json", "");
        Assert.Equal($"{empty}: the file is empty", Assert.Throws<BadInputException>(() => InstructionFile.Read(empty)).Message);
        string missing = Path.Combine(_dir, "none.json");
        Assert.Equal($"{missing}: no such file", Assert.Throws<BadInputException>(() => InstructionFile.Read(missing)).Message);
    }

    [Fact]
    public void LoaderFollowsTheSharedOrderRules()
    {
        var data = Fixture8();
        Assert.Equal(2, new InstructionLoader(data, 3, 64).Count); // drop_last
        Assert.Equal(3, new InstructionLoader(data, 3, 64, dropLast: false).Batches().Count());
        Assert.Equal(2, new InstructionLoader(data, 3, 64, dropLast: false).Batches().Last().BatchSize);
        var loader = new InstructionLoader(data, 2, 64, shuffle: true, seed: 123);
        Assert.Equal(new BatchOrder(8, 2, true, true, 123).Order(1), loader.Order(1));
        Assert.NotEqual(loader.Order(0), loader.Order(1));
        var all = loader.Batches(epoch: 1).ToList();
        var resumed = new InstructionLoader(data, 2, 64, shuffle: true, seed: 123).Batches(epoch: 1, skip: 3).ToList();
        Assert.Single(resumed);
        Assert.Equal(all[3].Targets, resumed[0].Targets);
        // A batch is the collate of its entries in that order.
        var order = loader.Order(1);
        Assert.Equal(InstructionCollate.Collate([data.Ids(order[0]), data.Ids(order[1])], Eot, 64).Inputs, all[0].Inputs);
        Assert.Equal("--max-length must be at least 1, got 0", Assert.Throws<BadInputException>(() => new InstructionLoader(data, 2, 0)).Message);
        Assert.Equal("batch size must be at least 1, got 0", Assert.Throws<BadInputException>(() => new InstructionLoader(data, 0, 64)).Message);
    }
}
