namespace LlmForge.Tests;

/// <summary>
/// The models the server tests serve, each made once per test run by the real commands: the tiny fixture (a base
/// model, context 64), a base model with a context of 1,024 (long generations, the judge's long prompts), an
/// instruction model and a spam classifier from the fine-tuning commands.
/// </summary>
static class ServedModels
{
    static readonly string Dir = MakeDir();

    static string MakeDir()
    {
        string dir = Directory.CreateTempSubdirectory("llmforge-served-models").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        return dir;
    }

    public static string Base => FixtureModel.Dir;

    static readonly Lazy<string> LongContextRun = new(() =>
    {
        string config = Path.Combine(Dir, "long-context.json");
        File.WriteAllText(config, """{"vocab_size": 50257, "context_length": 1024, "emb_dim": 32, "n_heads": 4, "n_layers": 2, "drop_rate": 0.0, "qkv_bias": false}""");
        string run = Path.Combine(Dir, "long-context");
        Made(CliRunner.Run("pretrain", "--data", TestPaths.Verdict, "--config", config, "--max-steps", "1", "--batch-size", "1", "--val-fraction", "0", "--out", run));
        return run;
    });

    /// <summary>A base model (one pretraining step) with a context of 1,024 tokens.</summary>
    public static string LongContext => LongContextRun.Value;

    static readonly Lazy<string> InstructionRun = new(() =>
    {
        string run = Path.Combine(Dir, "instruct");
        Made(CliRunner.Run("finetune", "instruct", "--model", LongContext, "--train", Path.Combine(TestPaths.Fixture("tiny-finetune"), "instructions-8.json"),
            "--epochs", "1", "--batch-size", "4", "--out", run));
        return run;
    });

    /// <summary>An instruction model (Alpaca prompts) with a context of 1,024 tokens.</summary>
    public static string Instruction => InstructionRun.Value;

    static readonly Lazy<string> ClassifierRun = new(() =>
    {
        string run = Path.Combine(Dir, "spam");
        Made(CliRunner.Run("finetune", "classify", "--model", ClassificationFixture.InitPth, "--config", FixtureModel.BookConfig,
            "--train", ClassificationFixture.Spam24, "--validation", ClassificationFixture.Spam24, "--test", ClassificationFixture.Spam24,
            "--epochs", "1", "--out", run));
        return run;
    });

    /// <summary>A ham/spam classifier.</summary>
    public static string Classifier => ClassifierRun.Value;

    static void Made(CliRunner.Result result) =>
        Assert.True(result.ExitCode == 0, $"making a served model failed ({result.ExitCode}): {result.Stderr}");
}
