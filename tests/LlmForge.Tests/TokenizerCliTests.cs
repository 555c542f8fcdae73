using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge tokenize</c> on text one piece long, and <c>llmforge tokenizer train</c> refusing what it
/// cannot turn into a loadable tokenizer, and replacing only a tokenizer with --force.
/// </summary>
public sealed class TokenizerCliTests() : ScratchDirectory("llmforge-tokenizer-cli")
{
    static CliRunner.Result RunTrain(string outDir, params string[] more) =>
        CliRunner.Run(["tokenizer", "train", "--data", TestPaths.Verdict, "--out", outDir, .. more]);

    /// <summary>Exit code 2, one line on stderr that says <paramref name="expected"/>, nothing on stdout.</summary>
    static void AssertRefused(CliRunner.Result result, params string[] expected)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Stderr}");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"expected one line, got: {result.Stderr}");
        Assert.StartsWith("llmforge: ", lines[0]);
        foreach (var part in expected) Assert.Contains(part, lines[0]);
        Assert.DoesNotContain("System.", lines[0]);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void TokenizesALongRunAndAMegabyteLine()
    {
        // 200,000 × "a" took 11 s and a 1 MB line minutes, both quadratic in the piece's length.
        var letters = new StringBuilder("\n", 1_000_001);
        string shakespeare = SharedTexts.Story("tinyshakespeare.txt");
        while (letters.Length < 1_000_001)
            foreach (char c in shakespeare)
                if (char.IsLetter(c) && letters.Append(c).Length == 1_000_001) break;
        string text = new string('a', 200_000) + letters;
        string file = Path.Combine(_dir, "long.txt");
        File.WriteAllText(file, text);

        var json = CliRunner.Json(CliRunner.Run("tokenize", "--file", file, "--json"));
        int[] ids = json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(ids.Length, json.GetProperty("count").GetInt32());
        var gpt2 = TokenizerLoader.Gpt2Default;
        int aaaa = gpt2.Encode("aaaa").Single();
        Assert.All(ids[..50_000], id => Assert.Equal(aaaa, id));
        Assert.Equal(gpt2.Encode("\n"), ids[50_000..50_001]);
        Assert.Equal(gpt2.Encode(text), ids);
        Assert.Equal(text, gpt2.Decode(ids));
    }

    [Fact]
    public void TheSameSpecialTokenTwiceIsRefused()
    {
        string outDir = Path.Combine(_dir, "twice");
        AssertRefused(RunTrain(outDir, "--vocab-size", "300", "--special", "<|x|>", "--special", "<|x|>"), "--special <|x|>", "twice");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void ASpecialTokenNotWrittenLikeEndOfTextIsRefused()
    {
        // Saved as "X", it would clash with the byte token written "X" and the tokenizer could not be loaded.
        string outDir = Path.Combine(_dir, "plain");
        AssertRefused(RunTrain(outDir, "--vocab-size", "300", "--special", "X"), "--special 'X'", "<|endoftext|>");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void TwoDifferentSpecialTokensTrainAndLoad()
    {
        string outDir = Path.Combine(_dir, "two");
        CliRunner.Json(RunTrain(outDir, "--vocab-size", "300", "--special", "<|endoftext|>", "--special", "<|pad|>", "--json"));
        var json = CliRunner.Json(CliRunner.Run("tokenize", "--text", "hi<|pad|>", "--tokenizer", outDir, "--json"));
        Assert.Equal(299, json.GetProperty("ids").EnumerateArray().Last().GetInt32());
    }

    [Fact]
    public void ForceReplacesATokenizer()
    {
        string outDir = Path.Combine(_dir, "tok");
        CliRunner.Json(RunTrain(outDir, "--vocab-size", "300", "--json"));

        AssertRefused(RunTrain(outDir, "--vocab-size", "400"), "already exists", "pass --force");
        Assert.Equal(300, Gpt2Tokenizer.Load(outDir).VocabSize);

        var replaced = CliRunner.Json(RunTrain(outDir, "--vocab-size", "400", "--force", "--json"));
        Assert.Equal(400, replaced.GetProperty("vocab_size").GetInt32());
        Assert.Equal(400, Gpt2Tokenizer.Load(outDir).VocabSize);
        Assert.Equal(["encoder.json", "vocab.bpe"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ForceNeverWritesIntoADirectoryOfOtherFiles()
    {
        string outDir = Path.Combine(_dir, "notes");
        Directory.CreateDirectory(Path.Combine(outDir, "drafts"));
        File.WriteAllText(Path.Combine(outDir, "todo.txt"), "keep me");
        File.WriteAllText(Path.Combine(outDir, "encoder.json"), "{}");

        AssertRefused(RunTrain(outDir, "--vocab-size", "300", "--force"), "not an LlmForge tokenizer's", "drafts", "todo.txt");
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(outDir, "todo.txt")));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(outDir, "encoder.json")));
        Assert.False(File.Exists(Path.Combine(outDir, "vocab.bpe")));
    }

    [Fact]
    public void AFileAsOutIsRefusedEvenWithForce()
    {
        // It used to say "pass --force" to a command that had passed it.
        string file = Path.Combine(_dir, "out.txt");
        File.WriteAllText(file, "keep me");
        var result = RunTrain(file, "--vocab-size", "300", "--force");
        AssertRefused(result, file, "is a file");
        Assert.DoesNotContain("--force", result.Stderr);
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void AnEmptyDirectoryIsUsedWithoutForce()
    {
        string outDir = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        CliRunner.Json(RunTrain(outDir, "--vocab-size", "300", "--json"));
        Assert.Equal(300, Gpt2Tokenizer.Load(outDir).VocabSize);
    }

    public static TheoryData<string[], string> BadTrainInputs() => new()
    {
        { ["--vocab-size", "255"], "--vocab-size 255 is too small" },
        { ["--vocab-size", "257", "--special", "<|a|>", "--special", "<|b|>"], "at least 258" },
        { ["--vocab-size", "2000000000"], "--vocab-size 2000000000 is too large" },
        { ["--vocab-size", "300", "--special", ""], "--special ''" },
    };

    [Theory, MemberData(nameof(BadTrainInputs))]
    public void BadTrainOptionsAreRefusedBeforeAnythingIsWritten(string[] options, string expected)
    {
        string outDir = Path.Combine(_dir, "never");
        AssertRefused(RunTrain(outDir, options), expected);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void BadDataIsRefusedBeforeAnythingIsWritten()
    {
        string outDir = Path.Combine(_dir, "never");
        string empty = Path.Combine(_dir, "empty.txt");
        File.WriteAllText(empty, "");
        string[][] cases = [["/no/such/corpus.txt", "no such file"], [_dir, "is a directory"], [empty, "empty"]];
        foreach (var c in cases)
        {
            AssertRefused(CliRunner.Run("tokenizer", "train", "--data", c[0], "--vocab-size", "300", "--out", outDir), c[0], c[1]);
            Assert.False(Directory.Exists(outDir));
        }
    }

    [Fact]
    public void ADeviceAsDataIsRefused()
    {
        // /dev/zero never ends: reading it whole ran out of memory (exit 1).
        string outDir = Path.Combine(_dir, "never");
        var result = CliRunner.Run("tokenizer", "train", "--data", "/dev/zero", "--vocab-size", "300", "--out", outDir);
        AssertRefused(result, "/dev/zero");
        Assert.False(Directory.Exists(outDir));
    }
}
