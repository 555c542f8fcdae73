namespace LlmForge.Tests;

/// <summary>The <c>llmforge</c> commands of stage 1, run as a user runs them.</summary>
public class CliTests
{
    static JsonElement Json(CliRunner.Result result) => CliRunner.Json(result);

    static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Fact]
    public void EnvLoadsLibtorchFromTheCli()
    {
        var json = Json(CliRunner.Run("env", "--json"));
        Assert.True(json.GetProperty("libtorch_computes").GetBoolean());
        Assert.StartsWith("0.107.0", json.GetProperty("torchsharp").GetString());
        Assert.Equal(OperatingSystem.IsLinux(), json.GetProperty("allocator_tuned").GetBoolean()); // glibc here
    }

    [Fact]
    public void TokenizeGivesGpt2IdsAsJson()
    {
        var json = Json(CliRunner.Run("tokenize", "--text", "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.", "--json"));
        Assert.Equal("gpt2", json.GetProperty("tokenizer").GetString());
        Assert.Equal(20, json.GetProperty("count").GetInt32());
        Assert.Equal(50257, json.GetProperty("vocab_size").GetInt32());
        Assert.Equal([15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13],
            Ints(json.GetProperty("ids")));
    }

    [Fact]
    public void TokenizeWithTheSimpleTokenizerBuildsItsVocabularyFromTheFile()
    {
        var json = Json(CliRunner.Run("tokenize", "--file", TestPaths.Verdict, "--tokenizer", "simple", "--json"));
        Assert.Equal("simple", json.GetProperty("tokenizer").GetString());
        Assert.Equal(4690, json.GetProperty("count").GetInt32());
        Assert.Equal(1132, json.GetProperty("vocab_size").GetInt32());
    }

    [Fact]
    public void DatasetShowsTheBooksFirstBatch()
    {
        var json = Json(CliRunner.Run("dataset", "--file", TestPaths.Verdict, "--context-length", "4", "--stride", "1", "--batch-size", "1", "--json"));
        Assert.Equal(5145, json.GetProperty("tokens").GetInt32());
        Assert.Equal(5141, json.GetProperty("windows").GetInt32());
        var batch = json.GetProperty("batches")[0];
        Assert.Equal([40, 367, 2885, 1464], Ints(batch.GetProperty("inputs")[0]));
        Assert.Equal([367, 2885, 1464, 1807], Ints(batch.GetProperty("targets")[0]));
    }

    [Fact]
    public void DatasetTakesSeveralBatchesOfEight()
    {
        var json = Json(CliRunner.Run("dataset", "--file", TestPaths.Verdict, "--context-length", "4", "--batch-size", "8", "--take", "2", "--json"));
        var batches = json.GetProperty("batches");
        Assert.Equal(2, batches.GetArrayLength());
        Assert.Equal(8, batches[1].GetProperty("inputs").GetArrayLength());
        // Stride defaults to the context length: batch 1 starts at window 8, token 32.
        Assert.Equal(Ints(batches[1].GetProperty("inputs")[0])[1..], Ints(batches[1].GetProperty("targets")[0])[..3]);
    }

    [Fact]
    public void TrainedTokenizerIsUsableByPath()
    {
        string dir = Path.Combine(Path.GetTempPath(), "llmforge-cli-bpe-" + Guid.NewGuid().ToString("N"));
        try
        {
            var trained = Json(CliRunner.Run("tokenizer", "train", "--data", TestPaths.Verdict, "--vocab-size", "700", "--out", dir, "--json"));
            Assert.Equal(700, trained.GetProperty("vocab_size").GetInt32());
            var json = Json(CliRunner.Run("tokenize", "--file", TestPaths.Verdict, "--tokenizer", dir, "--json"));
            Assert.Equal(700, json.GetProperty("vocab_size").GetInt32());
            int count = json.GetProperty("count").GetInt32();
            Assert.InRange(count, 1000, 10000);

            // A second training into the same place is refused and leaves the first intact.
            var again = CliRunner.Run("tokenizer", "train", "--data", TestPaths.Verdict, "--vocab-size", "300", "--out", dir);
            Assert.Equal(2, again.ExitCode);
            Assert.Contains("already exists", again.Stderr);
            Assert.Equal(count, Json(CliRunner.Run("tokenize", "--file", TestPaths.Verdict, "--tokenizer", dir, "--json")).GetProperty("count").GetInt32());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string[], string> BadInputs()
    {
        string binary = Path.Combine(Path.GetTempPath(), "llmforge-binary.dat");
        File.WriteAllBytes(binary, [0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]);
        string latin1 = Path.Combine(Path.GetTempPath(), "llmforge-latin1.txt");
        File.WriteAllBytes(latin1, [0x63, 0x61, 0x66, 0xe9, 0x0a]);
        string empty = Path.Combine(Path.GetTempPath(), "llmforge-empty.txt");
        File.WriteAllBytes(empty, []);
        return new()
        {
            { ["tokenize", "--file", "/no/such/file.txt"], "no such file" },
            { ["tokenize", "--file", empty], "empty" },
            { ["tokenize", "--file", binary], "not text" },
            { ["tokenize", "--file", latin1], "not UTF-8" },
            { ["tokenize", "--text", "hi", "--tokenizer", "nonsense"], "unknown tokenizer 'nonsense'" },
            { ["tokenize"], "exactly one of --text and --file" },
            { ["tokenize", "--text", ""], "--text is empty" },
            { ["dataset", "--file", TestPaths.Verdict, "--context-length", "6000"], "context length 6000" },
            { ["dataset", "--file", TestPaths.Verdict, "--context-length", "0"], "--context-length must be at least 1" },
            { ["dataset", "--file", TestPaths.Verdict, "--context-length", "4", "--stride", "0"], "stride must be at least 1" },
            { ["dataset", "--file", TestPaths.Verdict, "--context-length", "four"], "four" },
            { ["tokenizer", "train", "--data", TestPaths.Verdict, "--vocab-size", "100", "--out", "/tmp/llmforge-never-written"], "too small" },
            { ["no-such-command"], "no-such-command" },
        };
    }

    [Theory, MemberData(nameof(BadInputs))]
    public void BadInputExitsWithCode2AndAClearLine(string[] args, string expected)
    {
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr); // no stack trace
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void HelpCallsTheCommandLlmforge()
    {
        // Run as `dotnet LlmForge.Cli.dll`, the usage lines once said "LlmForge.Cli".
        var root = CliRunner.Run("--help");
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("Usage:\n  llmforge [command] [options]", root.Stdout.ReplaceLineEndings("\n"));
        var train = CliRunner.Run("tokenizer", "train", "--help");
        Assert.Contains("Usage:\n  llmforge tokenizer train [options]", train.Stdout.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("LlmForge.Cli", root.Stdout + train.Stdout);
    }

    [Fact]
    public void AValueStartingWithAtIsText()
    {
        // System.CommandLine would read "@name" as a file of further arguments.
        var json = Json(CliRunner.Run("tokenize", "--text", "@alice hi", "--json"));
        Assert.Equal([31, 282, 501, 23105], Ints(json.GetProperty("ids")));
    }

    [Fact]
    public void GenerateStreamsCharactersThatSpanTokensAsTheWholeDecodeDoes()
    {
        // Sampled hot from an emoji prompt, the tiny model writes tokens holding parts of characters.
        string[] args = ["generate", "--model", TestPaths.Fixture("tiny-gpt2"), "--prompt", "🍵😀 日本語 😀😀", "--max-new-tokens", "100", "--temperature", "2", "--seed", "8"];
        var json = Json(CliRunner.Run([.. args, "--json"]));
        var streamed = CliRunner.Run([.. args, "--stream"]);
        Assert.Equal(0, streamed.ExitCode);
        Assert.Equal(json.GetProperty("text").GetString() + "\n", streamed.Stdout);
    }
}
