using LlmForge.Interop.Gguf;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge export --format gguf</c>, proved by llama.cpp itself (<see cref="LlamaCpp"/>): its tokenizer gives
/// LlmForge's prompt ids and its greedy decoding gives LlmForge's greedy ids, for the three fixtures, for models
/// trained here in the test (pretrained, and instruction-tuned with LoRA), at each --dtype; and bad input is refused
/// with nothing written.
/// </summary>
public sealed class GgufExportTests() : ScratchDirectory("llmforge-gguf")
{
    const string Prompt = "Every effort moves you";

    /// <summary>Exports to <c>NAME/NAME.gguf</c> (each export in a directory of its own, with its Modelfile).</summary>
    string Export(string model, string name, string dtype = "f32", params string[] more)
    {
        string file = Path.Combine(_dir, name, name + ".gguf");
        var result = CliRunner.Run(["export", "--model", model, "--format", "gguf", "--out", file, "--dtype", dtype, .. more]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return file;
    }

    static JsonElement Expected(string fixture) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(fixture), "expected.json"))).RootElement;

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>The model directory of a fixture: GPT-2's is one already; Llama 3's and Qwen3's get their tokenizer files.</summary>
    string FixtureModel(string family) => family == "gpt2" ? Tests.FixtureModel.Dir : LlamaCliTests.ModelDirectory(family, _dir);

    [Theory]
    [InlineData("gpt2", "f32", 20)]
    [InlineData("gpt2", "f16", 10)]
    [InlineData("gpt2", "bf16", 10)]
    [InlineData("gpt2", "q8_0", 10)]
    [InlineData("qwen3", "f32", 20)]
    [InlineData("qwen3", "q8_0", 10)]
    [InlineData("llama3", "f32", 20)]
    [InlineData("llama3", "bf16", 10)]
    [InlineData("llama3", "q8_0", 10)]
    public void LlamaCppTokenizesThePromptAsTheFixtureAndContinuesItWithTheFixturesGreedyIds(string family, string dtype, int exact)
    {
        var expected = Expected(family == "gpt2" ? "tiny-gpt2" : "tiny-" + family);
        int[] prompt = Ints(expected.GetProperty("prompt_ids")), greedy = Ints(expected.GetProperty("greedy_20"))[prompt.Length..];
        string file = Export(FixtureModel(family), $"{family}-{dtype}", dtype);

        var run = LlamaCpp.Greedy(file, Prompt, 20, prompt);
        Assert.Equal(prompt, run.Tokenized);
        Assert.Equal(greedy[..exact], run.Generated[..exact]);
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    public void LlamaCppTokenizesTheStoryAsTheHuggingFaceTokenizerDoes(string family)
    {
        string text = File.ReadAllText(TestPaths.Verdict)[..3000] + " 1234567 <think>x</think> naïve café";
        string file = Export(FixtureModel(family), family, "q8_0");
        Assert.Equal(HfReference.Tokenizer(family).Encode(text), LlamaCpp.Greedy(file, text, 0).Tokenized);
    }

    [Fact]
    public void TheFileCarriesTheHyperparametersTokenizerAndQ8BlocksLlamaCppReads()
    {
        string file = Export(FixtureModel("qwen3"), "qwen3-info", "q8_0");
        var info = LlamaCpp.Info(file);
        Assert.Equal(3, info.GetProperty("version").GetInt32());
        var metadata = info.GetProperty("metadata");
        Assert.Equal("qwen3", metadata.GetProperty("general").GetProperty("architecture").GetString());
        Assert.Equal(7, metadata.GetProperty("general").GetProperty("file_type").GetInt32()); // MOSTLY_Q8_0
        var qwen3 = metadata.GetProperty("qwen3");
        Assert.Equal(2, qwen3.GetProperty("attention").GetProperty("head_count_kv").GetInt32());
        Assert.Equal(8, qwen3.GetProperty("rope").GetProperty("dimension_count").GetInt32());
        var tokenizer = metadata.GetProperty("tokenizer").GetProperty("ggml");
        Assert.Equal("qwen2", tokenizer.GetProperty("pre").GetString());
        // 151,669 tokens padded to the embedding's 151,936 rows.
        Assert.Equal(151_936, tokenizer.GetProperty("tokens").GetProperty("length").GetInt32());
        Assert.Equal(151_645, tokenizer.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(HfReference.Tokenizer("qwen3").ChatTemplateSource, info.GetProperty("chat_template").GetString());

        var tensors = info.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t);
        Assert.Equal([32, 151_936], Ints(tensors["token_embd.weight"].GetProperty("dimensions")));
        Assert.Equal([32, 16], Ints(tensors["blk.0.attn_k.weight"].GetProperty("dimensions"))); // [in, out]: 2 key heads of 8
        foreach (var (name, tensor) in tensors)
            Assert.True(tensor.GetProperty("type").GetInt32() == (tensor.GetProperty("dimensions").GetArrayLength() == 2 ? 8 : 0), $"{name}: type {tensor.GetProperty("type")}");
        Assert.False(tensors.ContainsKey("output.weight")); // tied: llama.cpp uses token_embd
    }

    [Fact]
    public void Q8BlocksHoldEachValueWithinHalfAStepOfItsBlock()
    {
        var random = new Random(5);
        float[] values = Enumerable.Range(0, 4 * 32).Select(i => (float)(random.NextDouble() * 2 - 1) * (i < 32 ? 0 : i)).ToArray();
        var blocks = new byte[4 * 34];
        Q8Zero.Quantize(values, blocks);
        float[] back = Q8Zero.Dequantize(blocks);
        for (int b = 0; b < 4; b++)
        {
            float step = values.Skip(b * 32).Take(32).Max(MathF.Abs) / 127;
            for (int j = b * 32; j < b * 32 + 32; j++)
                Assert.True(MathF.Abs(back[j] - values[j]) <= step * 0.5f * 1.01f + 1e-7f, $"value {j}: {values[j]} came back as {back[j]} (step {step})");
        }
        Assert.All(back[..32], v => Assert.Equal(0f, v)); // an all-zero block has scale 0
    }

    /// <summary>A model pretrained here for a few steps, with a context long enough for prompt and continuation.</summary>
    string Pretrain(string name, string configJson)
    {
        string config = Path.Combine(_dir, name + ".json"), run = Path.Combine(_dir, name);
        File.WriteAllText(config, configJson);
        CliRunner.Json(CliRunner.Run("pretrain", "--data", TestPaths.Verdict, "--config", config, "--context-length", "32", "--batch-size", "4",
            "--max-steps", "30", "--lr", "1e-3", "--eval-every", "30", "--eval-batches", "1", "--sample-tokens", "0", "--out", run, "--json"));
        return run;
    }

    static int[] GenerateIds(string model, string prompt, int count) =>
        Ints(CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", prompt, "--max-new-tokens", count.ToString(), "--json")).GetProperty("ids"));

    [Theory]
    [InlineData("gpt2", """{"vocab_size": 50257, "context_length": 64, "emb_dim": 64, "n_heads": 4, "n_layers": 2, "drop_rate": 0.0, "qkv_bias": false}""")]
    [InlineData("llama", """{"model_type": "llama", "vocab_size": 50257, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 64, "rope_theta": 10000, "tie_word_embeddings": false}""")]
    public void AModelPretrainedHereGivesLlamaCppItsGreedyIds(string name, string config)
    {
        string run = Pretrain("pretrained-" + name, config);
        const string prompt = "I had always thought Jack Gisburn";
        int[] ids = GenerateIds(run, prompt, 24);
        int promptLength = ids.Length - 24;
        foreach (var (dtype, exact) in new[] { ("f32", 24), ("q8_0", 10) })
        {
            var llamaCpp = LlamaCpp.Greedy(Export(run, $"pretrained-{name}-{dtype}", dtype), prompt, 24);
            Assert.Equal(ids[..promptLength], llamaCpp.Tokenized);
            Assert.Equal(ids[promptLength..][..exact], llamaCpp.Generated[..exact]);
        }
    }

    [Fact]
    public void AnInstructionModelTunedWithLoRAIsMergedAndItsModelfileHasTheAlpacaTemplate()
    {
        string run = Path.Combine(_dir, "instruct-lora");
        CliRunner.Json(CliRunner.Run("finetune", "instruct", "--model", Tests.FixtureModel.BookPth, "--config", Tests.FixtureModel.BookConfig,
            "--train", Path.Combine(TestPaths.Fixture("tiny-finetune"), "instructions-8.json"), "--no-shuffle", "--dropout", "0", "--batch-size", "4",
            "--lr", "5e-3", "--epochs", "1", "--lora-rank", "4", "--lora-alpha", "8", "--max-new-tokens", "4", "--out", run, "--json"));
        string prompt = LlmForge.Instruction.AlpacaPrompt.Format("Name a color.", "") + LlmForge.Instruction.AlpacaPrompt.ResponseHeader;
        int[] ids = GenerateIds(run, prompt, 8);

        string file = Export(run, "instruct", "f32");
        var llamaCpp = LlamaCpp.Greedy(file, prompt, 8);
        Assert.Equal(ids[..^8], llamaCpp.Tokenized);
        Assert.Equal(ids[^8..], llamaCpp.Generated);
        Assert.DoesNotContain(LlamaCpp.Info(file).GetProperty("tensors").EnumerateArray(), t => t.GetProperty("name").GetString()!.Contains("lora"));

        string modelfile = File.ReadAllText(Path.Combine(_dir, "instruct", "Modelfile"));
        Assert.StartsWith("FROM ./instruct.gguf\n", modelfile);
        Assert.Contains("Below is an instruction that describes a task. Write a response that appropriately completes the request.{{ end }}\n\n### Instruction:\n{{ .Prompt }}\n\n### Response:\n\"\"\"", modelfile);
        Assert.Contains("PARAMETER stop \"<|endoftext|>\"", modelfile);
        Assert.Contains("PARAMETER num_ctx 64", modelfile);
    }

    [Theory]
    [InlineData("qwen3", "<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>", "PARAMETER stop \"<|im_end|>\"", "Qwen")]
    [InlineData("llama3", "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>", "PARAMETER stop \"<|eot_id|>\"", "Llama 3")]
    public void AChatFamilysFileAndModelfileCarryItsChatFormat(string family, string turn, string stop, string chatWrapper)
    {
        string file = Export(FixtureModel(family), "chat-" + family);
        // node-llama-cpp recognises the family's format in the file's tokenizer.chat_template.
        Assert.Equal(chatWrapper, LlamaCpp.Info(file).GetProperty("chat_wrapper").GetString());
        string modelfile = File.ReadAllText(Path.Combine(_dir, "chat-" + family, "Modelfile"));
        Assert.StartsWith($"FROM ./chat-{family}.gguf\n", modelfile);
        Assert.Contains(turn, modelfile);
        Assert.Contains(stop, modelfile);
    }

    static string[] Listing(string dir) => Directory.EnumerateFileSystemEntries(dir).Select(e => Path.GetFileName(e) + ":" + (File.Exists(e) ? new FileInfo(e).Length : -1)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void BadInputIsRefusedWithNothingWritten()
    {
        string file = Path.Combine(_dir, "out", "out.gguf");
        string model = Tests.FixtureModel.Dir;
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", model, "--format", "gguf", "--out", file, "--dtype", "q4_0"), "--dtype q4_0", "f32, f16, bf16, q8_0");
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", model, "--format", "ggml", "--out", file), "--format ggml", "hf or gguf");
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", model, "--format", "gguf", "--out", _dir), "is a directory");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));

        Export(model, "out");
        string outDir = Path.Combine(_dir, "out");
        var before = Listing(outDir);
        byte[] bytes = File.ReadAllBytes(file);
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", model, "--format", "gguf", "--out", file, "--dtype", "q8_0"), file, "exists", "--overwrite");
        Assert.Equal(before, Listing(outDir));
        Assert.Equal(bytes, File.ReadAllBytes(file));
        // The Modelfile of another export in the same directory is not replaced without --overwrite either.
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", model, "--format", "gguf", "--out", Path.Combine(outDir, "other.gguf")), "Modelfile: exists", "--overwrite");
        Assert.Equal(before, Listing(outDir));

        Export(model, "out", "q8_0", "--overwrite");
        Assert.True(new FileInfo(file).Length < bytes.Length / 2);
    }

    [Fact]
    public void AModelWhoseVocabularyIsNotGpt2sIsRefusedForTheGpt2Architecture()
    {
        foreach (var (name, tokenizer, vocab) in new (string, IBundledTokenizer?, int)[] { ("qwen-vocab", HfReference.Tokenizer("qwen3"), 151_936), ("small-vocab", null, 1000) })
        {
            using var model = new GptModel(new GptConfig { VocabSize = vocab, ContextLength = 16, EmbDim = 32, NHeads = 4, NLayers = 1 });
            string checkpoint = Checkpoint.Save(Path.Combine(_dir, name), model, tokenizer);
            string file = Path.Combine(_dir, "out-" + name, name + ".gguf");
            BadInputAssert.OneLine(CliRunner.Run("export", "--model", checkpoint, "--format", "gguf", "--out", file), "its vocabulary is not GPT-2's", "50,257");
            Assert.False(Directory.Exists(Path.GetDirectoryName(file)));
        }
    }

    [Fact]
    public void AClassifierIsRefusedWithNothingWritten()
    {
        manual_seed(3);
        using var model = new GptModel(GptConfig.Load(TestPaths.TinyConfig));
        model.ReplaceOutputHead(nn.Linear(32, 2, hasBias: true), ["ham", "spam"]);
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "classifier"), model);
        string file = Path.Combine(_dir, "out", "classifier.gguf");
        BadInputAssert.OneLine(CliRunner.Run("export", "--model", checkpoint, "--format", "gguf", "--out", file), "is a classifier (2 classes: ham, spam)", "no class head");
        Assert.Equal(["classifier:-1"], Listing(_dir));
    }

    [Fact]
    public void AKilledExportLeavesTheEarlierFileWholeAndTheNextExportRemovesItsTemporary()
    {
        // A model big enough that its Q8_0 export takes a while: 50,257 x 512 embeddings and head, 6 blocks (about 70M values).
        manual_seed(1);
        using (var big = new GptModel(new GptConfig { VocabSize = 50257, ContextLength = 256, EmbDim = 512, NHeads = 8, NLayers = 6 }))
            Checkpoint.Save(Path.Combine(_dir, "big-model"), big);
        string file = Path.Combine(_dir, "big", "big.gguf");
        Directory.CreateDirectory(Path.Combine(_dir, "big"));
        File.WriteAllText(file, "an earlier export");

        using var process = CliRunner.Start("export", "--model", Path.Combine(_dir, "big-model"), "--format", "gguf", "--out", file, "--dtype", "q8_0", "--overwrite");
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string bigDir = Path.GetDirectoryName(file)!;
        while (!Directory.EnumerateFiles(bigDir, ".tmp-export-*").Any() && !process.HasExited && DateTime.UtcNow < deadline)
            Thread.Sleep(2);
        // Killed before anything else is read: reading its output would wait for it to end.
        bool running = !process.HasExited;
        process.Kill();
        process.WaitForExit();
        Assert.True(running, "the export ended before it could be killed: " + process.StandardError.ReadToEnd());

        Assert.Equal("an earlier export", File.ReadAllText(file));
        string temporary = Assert.Single(Directory.EnumerateFiles(bigDir, ".tmp-export-*"));
        Export(Tests.FixtureModel.Dir, "big", "f32", "--overwrite");
        Assert.False(File.Exists(temporary));
        Assert.Equal(Ints(Expected("tiny-gpt2").GetProperty("greedy_20"))[4..14], LlamaCpp.Greedy(file, Prompt, 10).Generated);
    }

    [Fact]
    public void JsonReportsTheFile()
    {
        string file = Path.Combine(_dir, "j", "j.gguf");
        var json = CliRunner.Json(CliRunner.Run("export", "--model", Tests.FixtureModel.Dir, "--format", "gguf", "--out", file, "--dtype", "f16", "--json"));
        Assert.Equal("gguf", json.GetProperty("format").GetString());
        Assert.Equal("gpt2", json.GetProperty("architecture").GetString());
        Assert.Equal("f16", json.GetProperty("dtype").GetString());
        Assert.Equal(new FileInfo(file).Length, json.GetProperty("bytes").GetInt64());
        Assert.Equal(29, json.GetProperty("tensors").GetInt32()); // 2 embeddings, 12 per block x 2, final norm (2), output
        Assert.Equal(Path.Combine(_dir, "j", "Modelfile"), json.GetProperty("modelfile").GetString());
    }
}
