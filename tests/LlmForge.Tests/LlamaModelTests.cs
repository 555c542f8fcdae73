using LlmForge.Generation;
using LlmForge.Model.Llama;

namespace LlmForge.Tests;

/// <summary>
/// The Llama 3 / Qwen3 family against ../shared/fixtures/tiny-qwen3 and tiny-llama3: random models in the
/// Hugging Face layout and what the book author's own implementation computed from them in fp32.
/// </summary>
public class LlamaModelTests() : ScratchDirectory("llmforge-llama-")
{
    public static TheoryData<string> Fixtures => new() { "tiny-qwen3", "tiny-llama3" };

    static string Dir(string fixture) => TestPaths.Fixture(fixture);

    static JsonElement Expected(string fixture) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(fixture), "expected.json"))).RootElement;

    static int[] Ints(string fixture, string key) => Expected(fixture).GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    static double[] Doubles(string fixture, string key) => Expected(fixture).GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>Equal shapes and every element equal (bit for bit, but for NaN).</summary>
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Tensor Ids(int[] ids) => tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);

    /// <summary>Logits at the last position of the fixture's prompt, in fp32 on the CPU.</summary>
    static Tensor LastLogits(LlamaModel model, int[] prompt)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.forward(Ids(prompt), null)[0, -1].to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void LastPositionLogitsMatchTheReference(string fixture)
    {
        using var model = LlamaLoader.Load(Dir(fixture));
        Assert.Equal(fixture == "tiny-qwen3" ? "qwen3" : "llama", model.Architecture);
        using var logits = LastLogits(model, Ints(fixture, "prompt_ids"));
        float[] values = logits.data<float>().ToArray();
        double[] first8 = Doubles(fixture, "last_logits_first8");
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(values[i] - first8[i]) < 1e-4, $"logit {i}: expected {first8[i]}, got {values[i]}");
        var (topValues, topIds) = logits.topk(5);
        Assert.Equal(Ints(fixture, "last_logits_top5_ids"), topIds.data<long>().ToArray().Select(i => (int)i));
        double[] expectedTop = Doubles(fixture, "last_logits_top5_values");
        float[] gotTop = topValues.data<float>().ToArray();
        for (int i = 0; i < 5; i++) Assert.True(Math.Abs(gotTop[i] - expectedTop[i]) < 1e-4, $"top {i}: expected {expectedTop[i]}, got {gotTop[i]}");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void GreedyIdsMatchTheReferenceWithAndWithoutCacheOnBothAttentionPaths(string fixture)
    {
        using var model = LlamaLoader.Load(Dir(fixture));
        int[] prompt = Ints(fixture, "prompt_ids"), expected = Ints(fixture, "greedy_20");
        Assert.Equal(prompt.Length + 20, expected.Length);
        foreach (bool fused in new[] { true, false })
        foreach (bool cache in new[] { true, false })
        {
            model.UseFusedAttention = fused;
            var ids = prompt.Concat(TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 20, UseKvCache = cache })).ToArray();
            Assert.True(expected.SequenceEqual(ids), $"fused={fused} cache={cache}: got [{string.Join(",", ids)}]");
        }
    }

    /// <summary>
    /// Every attention branch gives the full recomputation's logits: the prompt at once (causal), then two tokens
    /// after a cache (the offset mask), then one (the grouped single-token path); fused and explicit alike.
    /// </summary>
    [Theory, MemberData(nameof(Fixtures))]
    public void FusedAndExplicitAttentionAgreeWithAndWithoutCache(string fixture)
    {
        using var model = LlamaLoader.Load(Dir(fixture));
        int[] ids = Ints(fixture, "greedy_20")[..7];
        using var noGrad = no_grad();
        model.UseFusedAttention = false;
        using var reference = model.forward(Ids(ids), null);
        foreach (bool fused in new[] { true, false })
        {
            model.UseFusedAttention = fused;
            using var full = model.forward(Ids(ids), null);
            Assert.True(full.allclose(reference, rtol: 0, atol: 1e-5), $"fused={fused}: the full pass differs by {(full - reference).abs().max().item<float>()}");
            using var cache = model.NewKvCache(ids.Length);
            var pieces = new[] { ids[..4], ids[4..6], ids[6..] }.Select(piece => model.forward(Ids(piece), cache)).ToArray();
            using var joined = cat(pieces, 1);
            foreach (var piece in pieces) piece.Dispose();
            Assert.True(joined.allclose(reference, rtol: 0, atol: 1e-5), $"fused={fused}: the cached passes differ by {(joined - reference).abs().max().item<float>()}");
        }
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void ParameterCountIsTheReferences(string fixture)
    {
        long expected = Expected(fixture).GetProperty("parameter_count").GetInt64();
        var config = LlamaConfig.Load(Path.Combine(Dir(fixture), "config.json"));
        Assert.Equal(expected, config.ParameterCount());
        using var model = LlamaLoader.Load(Dir(fixture));
        Assert.Equal(expected, model.ParameterCount());
        // The tied head is the embedding, counted once; the untied one is a parameter of its own.
        Assert.Equal(fixture == "tiny-qwen3", config.TieWordEmbeddings);
        Assert.Equal(!config.TieWordEmbeddings, model.named_parameters().Any(p => p.name == "out_head.weight"));
    }

    /// <summary>The counts Hugging Face reports for each published model (safetensors parameters), from the sizes of its config.json.</summary>
    [Theory]
    [InlineData("llama3.2-1b", 1_235_814_400L, true)]
    [InlineData("llama3.2-3b", 3_212_749_824L, true)]
    [InlineData("qwen3-0.6b", 596_049_920L, true)]
    [InlineData("qwen3-1.7b", 1_720_574_976L, true)]
    [InlineData("qwen3-4b", 4_022_468_096L, true)]
    [InlineData("qwen3-8b", 8_190_735_360L, false)]
    public void PresetsHaveThePublishedParameterCounts(string name, long parameters, bool tied)
    {
        var config = LlamaConfig.TryPreset(name);
        Assert.NotNull(config);
        Assert.Equal(parameters, config.ParameterCount());
        Assert.Equal(tied, config.TieWordEmbeddings);
        Assert.Equal(name.StartsWith("qwen3", StringComparison.Ordinal), config.QkNorm);
        Assert.Equal(name.StartsWith("llama", StringComparison.Ordinal), config.RopeScaling != null);
        Assert.True(LlamaConfig.PresetRepositories.ContainsKey(name));
        // What a checkpoint or an export writes reads back the same.
        Assert.Equal(config, LlamaConfig.FromJson(config.ToJson().ToJsonString()) with { EosTokenIds = config.EosTokenIds });
        Assert.Null(LlamaConfig.TryPreset("qwen3-9b"));
    }

    /// <summary>A preset's own model (shrunk to two layers to stay small) has the parameters its config counts.</summary>
    [Fact]
    public void APresetShapedModelHasTheParametersItsConfigCounts()
    {
        var config = LlamaConfig.TryPreset("qwen3-0.6b")! with { NumLayers = 1, VocabSize = 1000, ContextLength = 256 };
        using var model = new LlamaModel(config, ScalarType.BFloat16);
        Assert.Equal(config.ParameterCount(), model.ParameterCount());
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
    }

    /// <summary>
    /// bf16 keeps about three significant digits, so logits of about ±3 after two blocks move by a few hundredths:
    /// measured at most 0.029 (tiny-qwen3) and 0.021 (tiny-llama3) over the whole vocabulary; 0.05 allowed.
    /// </summary>
    [Theory, MemberData(nameof(Fixtures))]
    public void Bf16ForwardIsCloseToFp32(string fixture)
    {
        int[] prompt = Ints(fixture, "prompt_ids");
        using var fp32 = LlamaLoader.Load(Dir(fixture));
        using var bf16 = LlamaLoader.Load(Dir(fixture), ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        Assert.All(bf16.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        // The fp32 weights rounded to bf16 are what the bf16 model holds.
        using (no_grad())
            Assert.True(Same(fp32.tok_emb.weight.to(ScalarType.BFloat16), bf16.tok_emb.weight));
        using var exact = LastLogits(fp32, prompt);
        using var rounded = LastLogits(bf16, prompt);
        double worst = (exact - rounded).abs().max().item<float>();
        Assert.True(worst < 0.05, $"bf16 logits differ from fp32 by up to {worst}");
        Assert.Equal(exact.argmax().item<long>(), rounded.argmax().item<long>());
        // Converting a loaded fp32 model (as the GPT loader and mixed precision do) is the same as loading in bf16.
        fp32.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, fp32.DType);
        using (var converted = LastLogits(fp32, prompt))
            Assert.True(Same(converted, rounded));
        foreach (bool cache in new[] { true, false })
        {
            var ids = TextGenerator.Generate(bf16, prompt, new GenerationOptions { MaxNewTokens = 5, UseKvCache = cache }).ToArray();
            Assert.Equal(Ints(fixture, "greedy_20")[prompt.Length], ids[0]);
        }
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void ExportRoundTripReloadsIdenticalLogits(string fixture)
    {
        int[] prompt = Ints(fixture, "prompt_ids");
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            using var model = LlamaLoader.Load(Dir(fixture), dtype);
            string exported = Path.Combine(_dir, $"export-{dtype}");
            // The tokenizer's files travel with the weights (here a stand-in).
            string tokenizer = Path.Combine(_dir, "tokenizer.json");
            File.WriteAllText(tokenizer, "{}");
            LlamaHfExport.Save(model, exported, extraFiles: [tokenizer]);
            Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.GetFiles(exported).Select(Path.GetFileName).Order());
            using (var weights = SafeTensorsFile.Open(Path.Combine(exported, "model.safetensors")))
            {
                using var original = SafeTensorsFile.Open(Path.Combine(Dir(fixture), "model.safetensors"));
                // The same tensor names as the published layout: lm_head left out when tied.
                Assert.Equal(original.Names.Order(), weights.Names.Order());
                Assert.All(weights.Names, n => Assert.Equal(dtype, weights.DType(n)));
            }
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(exported, "config.json")))!.AsObject();
            Assert.Equal(model.Architecture, config["model_type"]!.GetValue<string>());
            Assert.Equal(dtype == ScalarType.Float32 ? "float32" : "bfloat16", config["torch_dtype"]!.GetValue<string>());
            using var reloaded = LlamaLoader.Load(exported, dtype);
            using var before = LastLogits(model, prompt);
            using var after = LastLogits(reloaded, prompt);
            Assert.True(Same(before, after), $"{dtype}: the reloaded export's logits differ by {(before - after).abs().max().item<float>()}");
        }
    }

    /// <summary>Writes the fixture's tensors as two shards and an index, as the larger repositories ship them.</summary>
    string ShardedCopy(string fixture)
    {
        string directory = Path.Combine(_dir, $"sharded-{fixture}");
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(Dir(fixture), "config.json"), Path.Combine(directory, "config.json"));
        using var original = SafeTensorsFile.Open(Path.Combine(Dir(fixture), "model.safetensors"));
        var names = original.Names.ToList();
        var map = new JsonObject();
        for (int shard = 0; shard < 2; shard++)
        {
            string file = $"model-0000{shard + 1}-of-00002.safetensors";
            var mine = names.Where((_, i) => i % 2 == shard).ToList();
            var tensors = mine.Select(n => (n, original.Read(n))).ToList();
            SafeTensorsFile.Write(Path.Combine(directory, file), tensors);
            foreach (var (_, t) in tensors) t.Dispose();
            foreach (string name in mine) map[name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = new FileInfo(Path.Combine(Dir(fixture), "model.safetensors")).Length }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(directory, SafeTensorsShards.IndexFile), index.ToJsonString());
        return directory;
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void AShardedCopyLoadsIdentically(string fixture)
    {
        string sharded = ShardedCopy(fixture);
        int[] prompt = Ints(fixture, "prompt_ids");
        using var single = LlamaLoader.Load(Dir(fixture));
        using var fromShards = LlamaLoader.Load(sharded);
        using var expected = LastLogits(single, prompt);
        using var got = LastLogits(fromShards, prompt);
        Assert.True(Same(expected, got));
        // Converted on the way in (fp32 shards into a bf16 model), rows at a time: the same as rounding the fp32 model.
        using var bf16 = LlamaLoader.Load(sharded, ScalarType.BFloat16);
        using (no_grad())
            foreach (var ((name, a), (_, b)) in single.named_parameters().Zip(bf16.named_parameters()))
                Assert.True(Same(a.to(ScalarType.BFloat16), b), name);
    }

    [Fact]
    public void AMissingShardIsRefusedNamingTheShardAndATensor()
    {
        string sharded = ShardedCopy("tiny-qwen3");
        File.Delete(Path.Combine(sharded, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<BadInputException>(() => LlamaLoader.Load(sharded));
        Assert.StartsWith(Path.Combine(sharded, SafeTensorsShards.IndexFile) + ": shard 'model-00002-of-00002.safetensors' is missing ('model.layers.0.self_attn.q_proj.weight'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AShardWithoutATensorTheIndexPlacesThereIsRefused()
    {
        string sharded = ShardedCopy("tiny-llama3");
        string index = Path.Combine(sharded, SafeTensorsShards.IndexFile);
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        // Point one tensor at the other shard.
        string where = json["weight_map"]!["lm_head.weight"]!.GetValue<string>();
        string other = where == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
        json["weight_map"]!["lm_head.weight"] = other;
        File.WriteAllText(index, json.ToJsonString());
        var e = Assert.Throws<BadInputException>(() => LlamaLoader.Load(sharded));
        Assert.Equal($"{Path.Combine(sharded, other)}: has no tensor 'lm_head.weight', which model.safetensors.index.json places in it", e.Message);
    }

    [Fact]
    public void AMissingTensorIsRefusedNamingTheFileAndTheTensor()
    {
        string directory = Path.Combine(_dir, "missing");
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(Dir("tiny-llama3"), "config.json"), Path.Combine(directory, "config.json"));
        using (var original = SafeTensorsFile.Open(Path.Combine(Dir("tiny-llama3"), "model.safetensors")))
        {
            var tensors = original.Names.Where(n => n != "model.layers.1.mlp.up_proj.weight").Select(n => (n, original.Read(n))).ToList();
            SafeTensorsFile.Write(Path.Combine(directory, "model.safetensors"), tensors);
            foreach (var (_, t) in tensors) t.Dispose();
        }
        var e = Assert.Throws<BadInputException>(() => LlamaLoader.Load(directory));
        Assert.StartsWith(Path.Combine(directory, "model.safetensors") + ": does not fit the model", e.Message);
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight' (for trf_blocks.1.ff.fc2.weight, shape [64, 32])", e.Message);
    }

    [Fact]
    public void ATiedModelIgnoresACopyOfItsHeadButAnUntiedOneNeedsIt()
    {
        // tiny-llama3's file with tie_word_embeddings true: its lm_head.weight is left unread, as transformers does.
        string directory = Path.Combine(_dir, "tied");
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(Dir("tiny-llama3"), "model.safetensors"), Path.Combine(directory, "model.safetensors"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("tiny-llama3"), "config.json")))!;
        config["tie_word_embeddings"] = true;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString());
        using (var tied = LlamaLoader.Load(directory))
            Assert.Equal(Expected("tiny-llama3").GetProperty("parameter_count").GetInt64() - 128256L * 32, tied.ParameterCount());
        // tiny-qwen3's file (no lm_head) with the head untied: refused, naming the tensor.
        File.Copy(Path.Combine(Dir("tiny-qwen3"), "model.safetensors"), Path.Combine(directory, "model.safetensors"), overwrite: true);
        config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("tiny-qwen3"), "config.json")))!;
        config["tie_word_embeddings"] = false;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString());
        var e = Assert.Throws<BadInputException>(() => LlamaLoader.Load(directory));
        Assert.Contains("missing tensor 'lm_head.weight' (for out_head.weight, shape [151936, 32])", e.Message);
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        // key to change, its new JSON value (null removes it), what the message must say after the file's name
        { "model_type", "\"gpt_neox\"", ": 'model_type' \"gpt_neox\" is not one LlmForge builds as a Llama-family model (llama, qwen3)" },
        { "model_type", null!, ": no 'model_type'; expected one of llama, qwen3" },
        { "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}", ": 'rope_scaling' type \"yarn\" is not supported (llama3, default)" },
        { "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 32.0}", ": 'rope_scaling' has no 'low_freq_factor', which rope_type \"llama3\" needs" },
        { "num_key_value_heads", "3", ": 'num_attention_heads' 4 is not a multiple of 'num_key_value_heads' 3" },
        { "hidden_size", null!, ": 'hidden_size' is missing; expected a positive integer" },
        { "num_hidden_layers", "0", ": 'num_hidden_layers' must be a positive integer, got 0" },
        { "vocab_size", "\"151936\"", ": 'vocab_size' must be an integer, got \"151936\"" },
        { "intermediate_size", "64.5", ": 'intermediate_size' must be an integer, got 64.5" },
        { "head_dim", "7", ": 'head_dim' must be a positive even number (RoPE rotates pairs), got 7" },
        { "attention_bias", "true", ": 'attention_bias' true is not supported: the Llama 3 and Qwen3 models built here have no biases" },
        { "rms_norm_eps", "-1", ": 'rms_norm_eps' must be a positive number, got -1" },
    };

    [Theory, MemberData(nameof(BadConfigs))]
    public void BadConfigsAreRefusedNamingTheFileAndTheKey(string key, string? value, string message)
    {
        string directory = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(Dir("tiny-qwen3"), "model.safetensors"), Path.Combine(directory, "model.safetensors"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir("tiny-qwen3"), "config.json")))!.AsObject();
        config.Remove(key);
        if (value != null) config[key] = JsonNode.Parse(value);
        string path = Path.Combine(directory, "config.json");
        File.WriteAllText(path, config.ToJsonString());
        var e = Assert.Throws<BadInputException>(() => LlamaLoader.Load(directory));
        Assert.Equal(path + message, e.Message);
        Assert.Equal(path + message, Assert.Throws<BadInputException>(() => LlamaConfig.Load(path)).Message);
    }

    [Fact]
    public void ConfigKeysOfThePublishedFilesAreRead()
    {
        // As Qwen/Qwen3-0.6B ships it: integers where numbers are expected, nulls, keys this model does not use.
        var config = LlamaConfig.FromJson("""
            {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02,
             "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
             "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
             "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false,
             "vocab_size": 151936}
            """);
        Assert.Equal(LlamaConfig.TryPreset("qwen3-0.6b"), config with { EosTokenIds = LlamaConfig.TryPreset("qwen3-0.6b")!.EosTokenIds });
        // Llama 3 Instruct stops at several ids; older configs call rope_type "type"; head_dim defaults to hidden / heads.
        var llama = LlamaConfig.FromJson("""
            {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4,
             "vocab_size": 10, "eos_token_id": [128001, 128008, 128009],
             "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
            """);
        Assert.Equal([128001, 128008, 128009], llama.EosTokenIds!);
        Assert.Equal(16, llama.HeadDim);
        Assert.Equal(4, llama.NumKvHeads);
        Assert.Equal(new Llama3RopeScaling(8, 1, 4, 8192), llama.RopeScaling);
    }

    /// <summary>Llama 3's frequencies: the fast pairs kept, the slow ones divided by the factor, the middle blended.</summary>
    [Fact]
    public void Llama3ScalingKeepsFastFrequenciesAndSlowsSlowOnes()
    {
        var scaling = new Llama3RopeScaling(32, 1, 4, 8192);
        using var plain = RotaryEmbedding.InverseFrequencies(64, 500000, null);
        using var scaled = RotaryEmbedding.InverseFrequencies(64, 500000, scaling);
        float[] p = plain.data<float>().ToArray(), s = scaled.data<float>().ToArray();
        for (int i = 0; i < p.Length; i++)
        {
            double wavelength = 2 * Math.PI / p[i];
            if (wavelength < 8192 / 4.0) Assert.Equal(p[i], s[i]);
            else if (wavelength > 8192 / 1.0) Assert.Equal(p[i] / 32, s[i], 1e-6 * p[i]);
            else Assert.InRange(s[i], p[i] / 32 * 0.999, p[i] * 1.001);
        }
        Assert.Equal(1.0f, p[0]);
    }

    /// <summary>An LlmForge checkpoint of the model (book names, <c>architecture</c>) loads back through the same loader, adapters and all.</summary>
    [Theory, MemberData(nameof(Fixtures))]
    public void ANativeCheckpointReloadsIdenticalLogitsWithLoRA(string fixture)
    {
        int[] prompt = Ints(fixture, "prompt_ids");
        using var model = LlamaLoader.Load(Dir(fixture));
        manual_seed(7);
        int wrapped = LoRA.Apply(model, rank: 2, alpha: 4);
        // q, k, v, o, fc1, fc2, fc3 in each block, and the head when it is a layer of its own.
        Assert.Equal(7 * model.Config.NumLayers + (model.Config.TieWordEmbeddings ? 0 : 1), wrapped);
        Assert.Contains("trf_blocks.1.ff.fc3", LoRA.WrappedPaths(model));
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.EndsWith(".lora.B", StringComparison.Ordinal)))
                parameter.normal_(0, 0.5); // B starts at zero: make the adapters change the logits
        string checkpoint = Checkpoint.Save(Path.Combine(_dir, "checkpoint"), model);
        Checkpoint.Verify(checkpoint);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "config.json")))!;
        Assert.Equal(model.Architecture, config["architecture"]!.GetValue<string>());
        Assert.Equal(2, config["lora"]!["rank"]!.GetValue<int>());
        using var reloaded = LlamaLoader.Load(checkpoint);
        Assert.Equal(model.named_parameters().Select(p => p.name), reloaded.named_parameters().Select(p => p.name));
        using var before = LastLogits(model, prompt);
        using var after = LastLogits(reloaded, prompt);
        Assert.True(Same(before, after));
        using (var plain = LlamaLoader.Load(Dir(fixture)))
        using (var original = LastLogits(plain, prompt))
            Assert.False(original.allclose(before, rtol: 0, atol: 1e-3));
        // The export merges the adapters: the same logits from plain weights.
        LlamaHfExport.Save(model, Path.Combine(_dir, "merged"));
        using var merged = LlamaLoader.Load(Path.Combine(_dir, "merged"));
        using var mergedLogits = LastLogits(merged, prompt);
        Assert.True(mergedLogits.allclose(before, rtol: 0, atol: 1e-4));
    }

    /// <summary>The bf16 compute copy of mixed precision: the same parameters by name, the dtype asked for.</summary>
    [Fact]
    public void ACopyOfTheSameShapeHasTheSameParameterNames()
    {
        using var model = LlamaLoader.Load(Dir("tiny-qwen3"));
        LoRA.Apply(model, 2, 4);
        using var copy = (LlamaModel)model.NewOfSameShape();
        Assert.Equal(model.named_parameters().Select(p => (p.name, p.parameter.shape.ToArray().Aggregate(1L, (a, d) => a * d))),
            copy.named_parameters().Select(p => (p.name, p.parameter.shape.ToArray().Aggregate(1L, (a, d) => a * d))));
        using var mixed = new MixedPrecision(model);
        Assert.Equal(ScalarType.BFloat16, ((LlamaModel)mixed.Compute).DType);
        // One mixed-precision step's gradients reach every master weight, the tied embedding included.
        mixed.CopyWeights();
        int[] ids = Ints("tiny-qwen3", "greedy_20");
        using (var loss = Loss.CalcLossBatch(mixed.Compute, Ids(ids[..^1]), Ids(ids[1..])))
            loss.backward();
        mixed.AccumulateGradients();
        // (A adapter's A gets none while its B is still zero, as LoRA starts.)
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is { } g && (g.abs().sum().item<float>() > 0 || p.name.EndsWith(".lora.A", StringComparison.Ordinal)), p.name));
    }

    /// <summary>The cache keeps the key/value heads (2 here), not the 4 they are repeated into for the queries.</summary>
    [Fact]
    public void TheKvCacheHoldsTheKeyValueHeadsOnly()
    {
        using var model = LlamaLoader.Load(Dir("tiny-qwen3"));
        using var cache = model.NewKvCache(8);
        using (no_grad())
            model.forward(Ids(Ints("tiny-qwen3", "prompt_ids")), cache).Dispose();
        var config = model.Config;
        using var more = zeros(1, config.NumKvHeads, 1, config.HeadDim);
        var (keys, values) = cache[0].Append(more, more);
        Assert.Equal([1L, config.NumKvHeads, 5, config.HeadDim], keys.shape);
        Assert.Equal(2.0 * config.NumLayers * 8 * config.NumKvHeads * config.HeadDim * 4, model.KvCacheBytes(8));
        Assert.Throws<InvalidOperationException>(() => cache[0].Append(zeros(1, config.NumKvHeads, 4, config.HeadDim), zeros(1, config.NumKvHeads, 4, config.HeadDim)));
    }

    /// <summary>A small Qwen3 trained from scratch learns: the tied embedding gets gradients from both its uses.</summary>
    [Fact]
    public void ASmallModelTrainsFromScratch()
    {
        manual_seed(3);
        var config = LlamaConfig.TryPreset("qwen3-0.6b")! with
        {
            VocabSize = 50, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, ContextLength = 16,
        };
        using var model = new LlamaModel(config);
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);
        var ids = arange(0, 17, dtype: ScalarType.Int64).remainder(7).unsqueeze(0).repeat(4, 1);
        using var inputs = ids[.., ..16];
        using var targets = ids[.., 1..];
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            optimizer.zero_grad();
            using var loss = Loss.CalcLossBatch(model, inputs, targets);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first / 3, $"loss {first} -> {last}");
        Assert.True(Math.Abs(first - Math.Log(50)) < 0.5, $"a fresh model's loss {first} is not about ln(50)");
    }
}
