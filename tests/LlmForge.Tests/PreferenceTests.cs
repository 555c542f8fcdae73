using LlmForge.Preference;
using Xunit.Abstractions;

namespace LlmForge.Tests;

/// <summary>
/// DPO preference tuning's library pieces (issue 12, the book's bonus to chapter 7): the preference
/// file, the book's split and collate, sequence log-probabilities, the loss and rewards, against the
/// reference numbers of ../shared/fixtures/tiny-finetune (expected.json "dpo").
/// </summary>
public sealed class PreferenceTests(ITestOutputHelper output) : ScratchDirectory("llmforge-preference")
{
    static readonly ITokenizer Gpt2 = TokenizerLoader.Gpt2Default;

    static string Preferences8 => Path.Combine(TestPaths.Fixture("tiny-finetune"), "preferences-8.json");

    static readonly JsonNode Expected = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("tiny-finetune"), "expected.json")))!["dpo"]!;

    static GptModel TinyModel() => ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig).Model;

    string Write(string text)
    {
        string path = Path.Combine(_dir, "prefs.json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void TheFixtureReadsInFileOrderAndItsPromptsEncodeToTheReferenceLengths()
    {
        var entries = PreferenceFile.Read(Preferences8);
        Assert.Equal(8, entries.Count);
        Assert.Equal("Evaluate the following phrase by transforming it into the spelling given.", entries[0].Instruction);
        Assert.Equal("freind --> friend", entries[0].Input);
        Assert.NotNull(entries[0].Output);
        Assert.Equal(Enumerable.Range(0, 8), entries.Select(e => e.Index));
        Assert.StartsWith("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n",
            entries[0].Prompt);
        Assert.EndsWith("\n\n### Input:\nfreind --> friend\n\n### Response:\n" + entries[0].Chosen, entries[0].ChosenText);

        var data = PreferenceDataset.Encode(entries, Gpt2);
        int[] expected = Expected["prompt_lengths"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        Assert.Equal(expected, Enumerable.Range(0, data.Count).Select(i => data[i].PromptLength));
        Assert.Equal(50256, data.PadId);
        for (int i = 0; i < data.Count; i++)
        {
            // The full text starts with the prompt's ids: the mask's prompt part lies over the prompt.
            Assert.Equal(Gpt2.Encode(entries[i].Prompt), data[i].Chosen[..data[i].PromptLength]);
            Assert.Equal(Gpt2.Encode(entries[i].Prompt), data[i].Rejected[..data[i].PromptLength]);
            // Then "\n", "\n", "###", " Response", ":", "\n": the mask's prompt_length + 2 covers the prompt and both newlines.
            Assert.Equal([198, 198, 21017, 18261, 25, 198], data[i].Chosen[data[i].PromptLength..(data[i].PromptLength + 6)]);
        }
    }

    [Fact]
    public void AnEmptyInputLeavesTheInputSectionOut()
    {
        var entry = new PreferenceEntry("Name a color.", "", "Blue.", "No.", null, 0);
        Assert.Equal("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName a color.",
            entry.Prompt);
        Assert.Equal(entry.Prompt + "\n\n### Response:\nNo.", entry.RejectedText);
    }

    [Fact]
    public void TheBooksDataSplits85_10_5InFileOrder()
    {
        var entries = PreferenceFile.Read(TestPaths.SharedData("instruction-data-with-preference.json"));
        Assert.Equal(1100, entries.Count);
        var splits = PreferenceSplits.Split(entries, "data.json");
        Assert.Equal((935, 110, 55), (splits.Train.Count, splits.Test.Count, splits.Validation.Count));
        Assert.Equal(0, splits.Train[0].Index);
        Assert.Equal(935, splits.Test[0].Index);
        Assert.Equal(1045, splits.Validation[0].Index);
        Assert.Equal(1099, splits.Validation[^1].Index);

        Assert.Equal((8, 1), PreferenceSplits.Sizes(PreferenceSplits.MinEntries));
        var ex = Assert.Throws<BadInputException>(() => PreferenceSplits.Split(entries.Take(9).ToArray(), "nine.json"));
        Assert.Equal("nine.json: 9 entries leave the test set empty when split 85/10/5; at least 10 are needed", ex.Message);
    }

    [Fact]
    public void TheCollatePadsBothToTheLongestPlusOneMasksPromptAndPaddingThenCuts()
    {
        // Prompt of 2 ids: the mask drops positions 0..3 (prompt + 2) and the padding.
        var items = new[]
        {
            new EncodedPreference(2, [10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 20]),
            new EncodedPreference(1, [30, 31, 32, 33], [30, 31, 32, 33, 34, 35, 36, 37]),
        };
        var batch = PreferenceCollate.Batch(items, padId: 99, maxLength: 64);
        Assert.Equal(9, batch.Length); // the longest (8, a rejected one) plus one, for both
        Assert.Equal([10, 11, 12, 13, 14, 15, 99, 99, 99], batch.ChosenRow(0));
        Assert.Equal([10, 11, 12, 13, 20, 99, 99, 99, 99], batch.RejectedRow(0));
        Assert.Equal([false, false, false, false, true, true, false, false, false], batch.ChosenMaskRow(0));
        Assert.Equal([false, false, false, false, true, false, false, false, false], batch.RejectedMaskRow(0));
        Assert.Equal([false, false, false, true, false, false, false, false, false], batch.ChosenMaskRow(1));
        Assert.Equal([false, false, false, true, true, true, true, true, false], batch.RejectedMaskRow(1));

        // Cut after padding and masking, as the book's allowed_max_length.
        var cut = PreferenceCollate.Batch(items, padId: 99, maxLength: 5);
        Assert.Equal(5, cut.Length);
        Assert.Equal([30, 31, 32, 33, 34], cut.RejectedRow(1));
        Assert.Equal([false, false, false, true, true], cut.RejectedMaskRow(1));
        Assert.Equal([false, false, false, false, true], cut.ChosenMaskRow(0));
        using var mask = cut.ChosenMaskTensor();
        Assert.Equal(ScalarType.Bool, mask.dtype);
        Assert.Equal([2L, 5], mask.shape);
    }

    [Fact]
    public void TheFixturesFirstBatchIsPaddedToItsLongestSequencePlusOneAndCutToTheContext()
    {
        var data = PreferenceDataset.Encode(PreferenceFile.Read(Preferences8), Gpt2);
        var loader = new PreferenceLoader(data, batchSize: 4, maxLength: 64, shuffle: false, dropLast: true);
        Assert.Equal(2, loader.Count);
        var batch = loader.Batches().First();
        int longest = Enumerable.Range(0, 4).Max(i => Math.Max(data[i].Chosen.Length, data[i].Rejected.Length));
        Assert.Equal(Math.Min(longest + 1, 64), batch.Length);
        for (int r = 0; r < 4; r++)
        {
            int counted = Math.Min(data[r].Chosen.Length, batch.Length) - (data[r].PromptLength + 2);
            Assert.True(counted > 0);
            Assert.Equal(counted, batch.ChosenMaskRow(r).Count(m => m));
            Assert.All(batch.ChosenMaskRow(r).Take(data[r].PromptLength + 2), m => Assert.False(m));
        }
        Assert.Equal(0, data.WithoutResponseTokens(64));
        Assert.Equal(1, data.WithoutResponseTokens(50)); // entry 0: a prompt of 48 ids, and the two newlines fill 50
    }

    [Fact]
    public void ShuffledBatchesDependOnlyOnSeedAndEpochAndSkipContinues()
    {
        var data = PreferenceDataset.Encode(PreferenceFile.Read(Preferences8), Gpt2);
        var a = new PreferenceLoader(data, 2, 64, shuffle: true, seed: 7);
        var b = new PreferenceLoader(data, 2, 64, shuffle: true, seed: 7);
        Assert.Equal(a.Order(3), b.Order(3));
        Assert.NotEqual(a.Order(0), a.Order(1));
        var all = a.Batches(1).ToList();
        var skipped = b.Batches(1, skip: 2).ToList();
        Assert.Equal(2, skipped.Count);
        Assert.Equal(all[2].Chosen, skipped[0].Chosen);
        Assert.Equal(all[3].RejectedMask, skipped[1].RejectedMask);
    }

    [Fact]
    public void SequenceLogProbabilityIsTheMaskedMeanOfShiftedLogSoftmax()
    {
        manual_seed(3);
        using var logits = randn(2, 4, 5);
        using var ids = tensor(new long[] { 1, 2, 3, 4, 0, 1, 2, 3 }, [2, 4]);
        using var mask = tensor(new[] { false, false, true, true, true, true, false, false }, [2, 4], ScalarType.Bool);
        using var result = SequenceLogProbability.Mean(logits, ids, mask);
        var logp = nn.functional.log_softmax(logits, -1);
        double LogP(int row, int t) => logp[row, t - 1, ids[row, t].item<long>()].item<float>();
        // Row 0 counts positions 2 and 3; row 1 (position 0 never counts) position 1 only.
        Assert.Equal((LogP(0, 2) + LogP(0, 3)) / 2, result[0].item<float>(), 1e-5);
        Assert.Equal(LogP(1, 1), result[1].item<float>(), 1e-5);
        // No counted position: 0, not NaN.
        using var none = SequenceLogProbability.Mean(logits, ids, zeros_like(mask));
        Assert.Equal([0f, 0f], none.data<float>().ToArray());
    }

    [Fact]
    public void TheFirstBatchsLossIsLn2WithZeroRewardsWhenPolicyAndReferenceAgree()
    {
        using var policy = TinyModel();
        using var reference = TinyModel();
        var data = PreferenceDataset.Encode(PreferenceFile.Read(Preferences8), Gpt2);
        var loader = new PreferenceLoader(data, 4, policy.ContextLength, shuffle: false);
        var dpo = new DpoLoss(reference, beta: 0.1);
        var (loss, count, scores) = dpo.Score(policy, loader.Batches().First());
        using (loss)
        {
            Assert.True(loss.requires_grad);
            Assert.Equal(4, count);
            Assert.Equal(Math.Log(2), loss.item<float>(), 1e-6);
            Assert.Equal(Math.Log(2), scores.Loss, 1e-6);
            Assert.Equal(0, scores.ChosenReward, 1e-7);
            Assert.Equal(0, scores.RejectedReward, 1e-7);
        }
        Assert.Null(dpo.TakeStepScores()); // Score records nothing

        var evaluated = DpoEvaluation.Evaluate(policy, dpo, loader, numBatches: 1);
        Assert.Equal(Math.Log(2), evaluated.Loss, 1e-6);
        Assert.Equal(0, evaluated.Margin, 1e-7);
        Assert.True(double.IsNaN(DpoEvaluation.Evaluate(policy, dpo, loader, numBatches: 0).Loss));
    }

    [Fact]
    public void FourStepsWithTheSharedTrainingStepReproduceTheReferenceLossesAndRewards()
    {
        using var policy = TinyModel();
        using var reference = TinyModel();
        policy.train();
        var data = PreferenceDataset.Encode(PreferenceFile.Read(Preferences8), Gpt2);
        var loader = new PreferenceLoader(data, 4, policy.ContextLength, shuffle: false);
        var dpo = new DpoLoss(reference, beta: Expected["beta"]!.GetValue<double>());
        using var optimizer = AdamW.For(policy, lr: 5e-4, weightDecay: 0.01);
        var step = new TrainingStep<PreferenceBatch>(policy, optimizer, dpo.Batch);
        var expected = Expected["steps_b4_lr5e-4_wd0.01_2epochs"]!.AsArray();
        var referenceBefore = reference.named_parameters().Select(p => p.parameter.clone()).ToArray();

        var measured = new List<string>();
        int s = 0;
        for (int epoch = 0; epoch < 2; epoch++)
            foreach (var batch in loader.Batches(epoch))
            {
                var (loss, count) = step.Run([batch], 5e-4, dropoutSeed: 1000 + s);
                var scores = dpo.TakeStepScores()!;
                Assert.Equal(loss, scores.Loss, 1e-9);
                Assert.Equal(4, count);
                measured.Add($"step {s + 1}: loss {loss:F6} chosen {scores.ChosenReward:F6} rejected {scores.RejectedReward:F6}");
                var want = expected[s]!;
                Assert.True(Math.Abs(loss - want["loss"]!.GetValue<double>()) < 1e-4, string.Join("; ", measured));
                Assert.True(Math.Abs(scores.ChosenReward - want["chosen_reward"]!.GetValue<double>()) < 1e-4, string.Join("; ", measured));
                Assert.True(Math.Abs(scores.RejectedReward - want["rejected_reward"]!.GetValue<double>()) < 1e-4, string.Join("; ", measured));
                s++;
            }
        Assert.Equal(4, s);
        output.WriteLine(string.Join("\n", measured));
        // The reference never moved and never got gradients.
        foreach (var (p, before) in reference.named_parameters().Select(p => p.parameter).Zip(referenceBefore))
        {
            Assert.True(p.allclose(before, rtol: 0, atol: 0));
            Assert.Null(p.grad);
        }
        // A step's metrics line gets its rewards; the sums start over after.
        dpo.Batch(policy, loader.Batches().First()).Loss.Dispose();
        var line = new JsonObject();
        dpo.RecordStep(line);
        Assert.NotNull(line["chosen_reward"]);
        Assert.NotNull(line["rejected_reward"]);
        Assert.Null(dpo.TakeStepScores());
    }

    [Theory]
    [InlineData("{\"instruction\": \"x\"}", "prefs.json: the file holds an object; expected a JSON array of objects with \"instruction\", \"chosen\" and \"rejected\" strings")]
    [InlineData("[]", "prefs.json: the array is empty; expected a JSON array of objects with \"instruction\", \"chosen\" and \"rejected\" strings")]
    [InlineData("[{\"instruction\": \"a\", \"chosen\": \"b\",\n \"rejected\": ]", "prefs.json: not valid JSON (line 2, byte 14: ']' is an invalid start of a value); expected a JSON array of objects with \"instruction\", \"chosen\" and \"rejected\" strings")]
    [InlineData("[{\"instruction\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}, 5]", "prefs.json: entry 1: is a number, expected an object with \"instruction\", \"chosen\" and \"rejected\"")]
    [InlineData("[{\"instruction\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}, {\"instruction\": \"a\", \"chosen\": \"b\"}]", "prefs.json: entry 1: \"rejected\" is missing, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"rejected\": \"c\"}]", "prefs.json: entry 0: \"chosen\" is missing, expected a string")]
    [InlineData("[{\"chosen\": \"b\", \"rejected\": \"c\"}]", "prefs.json: entry 0: \"instruction\" is missing, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"chosen\": null, \"rejected\": \"c\"}]", "prefs.json: entry 0: \"chosen\" is null, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"chosen\": \"b\", \"rejected\": [\"c\"]}]", "prefs.json: entry 0: \"rejected\" is an array, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"input\": 3, \"chosen\": \"b\", \"rejected\": \"c\"}]", "prefs.json: entry 0: \"input\" is a number, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"output\": true, \"chosen\": \"b\", \"rejected\": \"c\"}]", "prefs.json: entry 0: \"output\" is a boolean, expected a string")]
    [InlineData("[{\"instruction\": \" \", \"chosen\": \"b\", \"rejected\": \"c\"}]", "prefs.json: entry 0: \"instruction\" is empty")]
    public void BadPreferenceFilesAreRefusedNamingTheEntryAndField(string json, string message)
    {
        string path = Write(json);
        var ex = Assert.Throws<BadInputException>(() => PreferenceFile.Read(path));
        Assert.Equal(message, ex.Message.Replace(path, "prefs.json"));
    }

    [Fact]
    public void MissingInputAndOutputAreAllowed()
    {
        var entries = PreferenceFile.Read(Write("[{\"instruction\": \"a\", \"input\": null, \"chosen\": \"b\", \"rejected\": \"c\", \"extra\": 1}]"));
        Assert.Equal(("", null), (entries[0].Input, entries[0].Output));
        var missing = Assert.Throws<BadInputException>(() => PreferenceFile.Read(Path.Combine(_dir, "none.json")));
        Assert.EndsWith("none.json: no such file", missing.Message);
        using var model = TinyModel();
        Assert.Equal("--beta must be a positive number, got 0", Assert.Throws<BadInputException>(() => new DpoLoss(model, beta: 0)).Message);
    }
}
