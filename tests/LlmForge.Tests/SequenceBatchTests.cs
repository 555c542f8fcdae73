using LlmForge.Generation;
using LlmForge.Interop;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="SequenceBatch"/>: sequences with prompts of different lengths, joining and leaving at different steps,
/// decoded together in shared forward passes, each get the ids <see cref="TextGenerator"/> gives them alone, for every
/// family (GPT's learned positions, Llama's and Qwen3's rotary ones, grouped-query attention).
/// </summary>
public sealed class SequenceBatchTests
{
    public static TheoryData<string> Models => new() { "tiny-gpt2", "tiny-qwen3", "tiny-llama3" };

    static LoadedModel Load(string fixture) =>
        fixture == "tiny-gpt2" ? ModelLoader.Load(FixtureModel.BookPth, FixtureModel.BookConfig) : ModelLoader.Load(TestPaths.Fixture(fixture));

    /// <summary>Prompts of 1 to 13 tokens, greedy and sampled, with different lengths to generate.</summary>
    static (int[] Prompt, GenerationOptions Options)[] Jobs(int vocabulary) =>
    [
        ([.. Enumerable.Range(0, 13).Select(i => (i * 37 + 5) % vocabulary)], new GenerationOptions { MaxNewTokens = 12 }),
        ([7 % vocabulary], new GenerationOptions { MaxNewTokens = 20 }),
        ([.. Enumerable.Range(0, 5).Select(i => (i * 91 + 3) % vocabulary)], new GenerationOptions { MaxNewTokens = 9, Temperature = 1.0, TopK = 20, Seed = 7 }),
        ([.. Enumerable.Range(0, 8).Select(i => (i * 13 + 11) % vocabulary)], new GenerationOptions { MaxNewTokens = 15, Temperature = 0.8, TopP = 0.9, Seed = 11 }),
    ];

    [Theory, MemberData(nameof(Models))]
    public void SequencesDecodedTogetherGetTheIdsEachGetsAlone(string fixture)
    {
        using var loaded = Load(fixture);
        var model = loaded.Network;
        var jobs = Jobs(model.OutputSize);
        var alone = jobs.Select(j => TextGenerator.Generate(model, j.Prompt, j.Options).ToList()).ToArray();

        var together = jobs.Select(_ => new List<int>()).ToArray();
        var ended = new bool[jobs.Length];
        int steps = 0, mostAtOnce = 0;
        using (var batch = new SequenceBatch(model, maxSequences: 8))
        {
            void Start(int j) => batch.Start(jobs[j].Prompt, jobs[j].Options, id => { together[j].Add(id); return true; }, error =>
            {
                Assert.Null(error);
                ended[j] = true;
            });
            // Two start at once, the others join after some steps, while the first ones are still running.
            Start(0);
            Start(1);
            for (int next = 2; batch.Count > 0 || next < jobs.Length; steps++)
            {
                if (steps == 3 && next == 2) Start(next++);
                if (steps == 5 && next == 3) Start(next++);
                mostAtOnce = Math.Max(mostAtOnce, batch.Count);
                batch.Step();
            }
        }
        Assert.Equal(4, mostAtOnce);
        Assert.All(ended, Assert.True);
        for (int j = 0; j < jobs.Length; j++)
        {
            Assert.Equal(jobs[j].Options.MaxNewTokens, alone[j].Count);
            Assert.Equal(alone[j], together[j]);
        }
        // The sampled sequences did not merely repeat the greedy choice.
        Assert.NotEqual(alone[2], TextGenerator.Generate(model, jobs[2].Prompt, jobs[2].Options with { Temperature = 0 }).ToList());
    }

    [Theory, MemberData(nameof(Models))]
    public void ALongPromptJoinsAChunkAStepWhileTheOthersKeepGenerating(string fixture)
    {
        using var loaded = Load(fixture);
        var model = loaded.Network;
        var options = new GenerationOptions { MaxNewTokens = 12 };
        int[] running = [5 % model.OutputSize, 9 % model.OutputSize];
        int[] longPrompt = [.. Enumerable.Range(0, 41).Select(i => (i * 53 + 17) % model.OutputSize)];
        var runningAlone = TextGenerator.Generate(model, running, options with { MaxNewTokens = 30 }).ToList();
        var longAlone = TextGenerator.Generate(model, longPrompt, options).ToList();

        var runningIds = new List<int>();
        var longIds = new List<int>();
        int tokensWhileJoining = -1;
        using (var batch = new SequenceBatch(model, maxSequences: 4, prefillChunk: 8))
        {
            batch.Start(running, options with { MaxNewTokens = 30 }, id => { runningIds.Add(id); return true; }, Assert.Null);
            batch.Step();
            batch.Step();
            int before = runningIds.Count;
            batch.Start(longPrompt, options, id =>
            {
                // The long prompt's first token: how many the other sequence got meanwhile.
                if (longIds.Count == 0) tokensWhileJoining = runningIds.Count - before;
                longIds.Add(id);
                return true;
            }, Assert.Null);
            while (batch.Count > 0) batch.Step();
        }
        // 41 tokens in chunks of 8 take six steps; the running sequence got a token in each.
        Assert.True(tokensWhileJoining >= 5, $"the running sequence got {tokensWhileJoining} tokens while the prompt joined");
        Assert.Equal(runningAlone, runningIds);
        Assert.Equal(longAlone, longIds);
    }

    [Fact]
    public void APromptIsCutAtTheSamePlacesWhateverElseIsJoining()
    {
        using var loaded = Load("tiny-gpt2");
        var model = loaded.Network;
        var options = new GenerationOptions { MaxNewTokens = 4, Temperature = 1, Seed = 9 };
        int[] shortPrompt = [5, 6, 7, 8, 9], longPrompt = [.. Enumerable.Range(0, 11).Select(i => i * 13 + 2)];
        var first = new List<int>();
        var second = new List<int>();
        using (var batch = new SequenceBatch(model, 4, prefillChunk: 8))
        {
            batch.Start(shortPrompt, options, id => { first.Add(id); return true; }, Assert.Null);
            batch.Start(longPrompt, options, id => { second.Add(id); return true; }, Assert.Null);
            // Step 1: the 5 short tokens; the long prompt's first 8 do not fit the 3 left, so they wait (cut at 8 as
            // alone, not at 3). Step 2: its tokens 0-7. Step 3: 8-10, its first token, and one more from the step's decoding.
            batch.Step();
            Assert.Equal(2, first.Count);
            Assert.Empty(second);
            batch.Step();
            Assert.Empty(second);
            batch.Step();
            Assert.Equal(2, second.Count);
            while (batch.Count > 0) batch.Step();
        }
        Assert.Equal(TextGenerator.Generate(model, shortPrompt, options), first);
        Assert.Equal(TextGenerator.Generate(model, longPrompt, options), second);
    }

    [Fact]
    public void AnOwnerWhoLeavesDuringALongPromptEndsItBeforeItsFirstToken()
    {
        using var loaded = Load("tiny-gpt2");
        var model = loaded.Network;
        int[] prompt = [.. Enumerable.Range(0, 40).Select(i => i * 7 + 1)];
        var options = new GenerationOptions { MaxNewTokens = 5 };
        bool left = false;
        Exception? ended = null;
        var tokens = new List<int>();
        var other = new List<int>();
        using (var batch = new SequenceBatch(model, 4, prefillChunk: 8))
        {
            batch.Start(prompt, options, id => { tokens.Add(id); return true; }, error => ended = error, () => left);
            batch.Start([3], options, id => { other.Add(id); return true; }, Assert.Null);
            batch.Step();
            batch.Step();
            left = true;
            while (batch.Count > 0) batch.Step();
        }
        Assert.IsType<OperationCanceledException>(ended);
        Assert.Empty(tokens);
        Assert.Equal(TextGenerator.Generate(model, [3], options), other);
    }

    [Fact]
    public void ASequenceEndsAtItsStopIdOrWhenItsOwnerSaysSoAndTheOthersGoOn()
    {
        using var loaded = Load("tiny-gpt2");
        var model = loaded.Network;
        int[] prompt = FixtureModel.Ints("prompt_ids");
        var greedy = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 10 }).ToList();
        var stopped = new List<int>();
        var cut = new List<int>();
        var full = new List<int>();
        var ends = new List<string>();
        using (var batch = new SequenceBatch(model, 4))
        {
            // The fourth greedy id as a stop id: generation ends on it, as TextGenerator ends.
            batch.Start(prompt, new GenerationOptions { MaxNewTokens = 10, StopTokenId = greedy[3] }, id => { stopped.Add(id); return true; }, _ => ends.Add("stopped"));
            // Its owner stops this one after two ids (a client that left).
            batch.Start(prompt, new GenerationOptions { MaxNewTokens = 10 }, id => { cut.Add(id); return cut.Count < 2; }, _ => ends.Add("cut"));
            batch.Start(prompt, new GenerationOptions { MaxNewTokens = 10 }, id => { full.Add(id); return true; }, _ => ends.Add("full"));
            while (batch.Count > 0) batch.Step();
        }
        Assert.Equal(greedy.Take(greedy.IndexOf(greedy[3]) + 1), stopped);
        Assert.Equal(greedy.Take(2), cut);
        Assert.Equal(greedy, full);
        // Each ended once; the one that ran its full length ended last.
        Assert.Equal(["cut", "full", "stopped"], ends.Order());
        Assert.Equal("full", ends[^1]);
    }

    [Fact]
    public void AGenerationPastTheContextOrWithoutTheCacheIsNotTaken()
    {
        using var loaded = Load("tiny-gpt2");
        var model = loaded.Network;
        using var batch = new SequenceBatch(model, 4);
        Assert.True(batch.CanTake([1, 2, 3], new GenerationOptions { MaxNewTokens = model.ContextLength - 3 }));
        Assert.False(batch.CanTake([1, 2, 3], new GenerationOptions { MaxNewTokens = model.ContextLength - 2 }));
        Assert.False(batch.CanTake([1, 2, 3], new GenerationOptions { MaxNewTokens = 5, UseKvCache = false }));
        Assert.Throws<ArgumentException>(() => batch.Start([1, 2, 3], new GenerationOptions { MaxNewTokens = model.ContextLength }, _ => true, _ => { }));
        Assert.Throws<BadInputException>(() => batch.Start([], new GenerationOptions(), _ => true, _ => { }));
        Assert.Equal(0, batch.Count);
    }
}
