namespace LlmForge.Tests;

/// <summary>../shared/fixtures/tiny-finetune: the spam-24 file and the PyTorch reference's classification numbers.</summary>
static class ClassificationFixture
{
    public static string Dir => TestPaths.Fixture("tiny-finetune");
    public static string Spam24 => Path.Combine(Dir, "spam-24.tsv");
    public static string InitPth => Path.Combine(Dir, "classifier_init_book.pth");
    public static string SmsSpam => TestPaths.SharedData("SMSSpamCollection.tsv");

    static readonly Lazy<JsonElement> ExpectedJson = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement.GetProperty("classification"));

    public static JsonElement Expected => ExpectedJson.Value;

    public static double[] Doubles(string name) => Expected.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>The tiny GPT with its head replaced by Linear(32, 2) with bias, weights from classifier_init_book.pth, in eval mode.</summary>
    public static GptModel InitialClassifier()
    {
        var model = new GptModel(GptConfig.Load(FixtureModel.BookConfig));
        model.ReplaceOutputHead(torch.nn.Linear(32, 2, hasBias: true));
        using (var weights = PthStateDict.Open(InitPth)) WeightLoader.Load(model, weights, WeightLayout.Book.Instance);
        model.eval();
        return model;
    }
}
