namespace LlmForge.Tests;

/// <summary>The tiny GPT-2 of ../shared/fixtures/tiny-gpt2 and the numbers PyTorch computed from it.</summary>
static class FixtureModel
{
    public static string Dir => TestPaths.Fixture("tiny-gpt2");
    public static string HfSafetensors => Path.Combine(Dir, "model.safetensors");
    public static string BookPth => Path.Combine(Dir, "model_book.pth");
    public static string BookConfig => Path.Combine(Dir, "book_config.json");

    static readonly Lazy<JsonElement> ExpectedJson = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement);

    public static JsonElement Expected => ExpectedJson.Value;

    public static int[] Ints(string name) => Expected.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static double[] Doubles(string name) => Expected.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
