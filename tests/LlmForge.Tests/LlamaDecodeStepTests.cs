using LlmForge.Model.Llama;

using static LlmForge.Tests.LibtorchReference;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="LlamaDecodeStep"/> against the model's forward through libtorch alone (<see cref="DecodeLinear.Enabled"/>
/// off), for Qwen3's shape (query and key norms, a tied head, two query heads a key/value head) and Llama 3's (rotary
/// scaling, its own head, four query heads a key/value head): the same logits to float rounding step after step, for one
/// sequence and for sequences with caches of their own; null where it must leave the step to the model.
/// </summary>
public sealed class LlamaDecodeStepTests
{
    /// <summary>A small model of the preset's family with every weight random (the norms' scales included), in eval mode.</summary>
    static LlamaModel Model(string preset, ScalarType dtype)
    {
        manual_seed(preset.Length);
        var config = LlamaConfig.TryPreset(preset)! with
        {
            VocabSize = 61, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 8, NumKvHeads = preset.StartsWith("qwen3") ? 4 : 2,
            HeadDim = 16, ContextLength = 48,
        };
        var model = new LlamaModel(config, dtype);
        using (no_grad())
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("scale")) parameter.copy_(rand_like(parameter) + 0.5);
        model.eval();
        return model;
    }

    // Bounds as GptDecodeStepTests' (fp32: the sums' order; bf16: a sum's rounding to the neighbouring bf16 value, a few times).
    public static TheoryData<string, ScalarType, double> Shapes => new()
    {
        { "qwen3-0.6b", ScalarType.Float32, 1e-6 },
        { "llama3.2-1b", ScalarType.Float32, 1e-6 },
        { "qwen3-0.6b", ScalarType.BFloat16, 1.0 / 64 },
        { "llama3.2-1b", ScalarType.BFloat16, 1.0 / 64 },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void OneSequenceGetsLibtorchsLogitsStepAfterStep(string preset, ScalarType dtype, double tolerance)
    {
        using var model = Model(preset, dtype);
        using var noGrad = no_grad();
        OneSequenceMatches(model, (ids, cache) => LlamaDecodeStep.TryForward(model, ids, cache), [5, 17, 3, 58, 41, 0], 24, tolerance);
    }

    [Theory, MemberData(nameof(Shapes))]
    public void SequencesWithCachesOfTheirOwnGetWhatEachGetsAlone(string preset, ScalarType dtype, double tolerance)
    {
        using var model = Model(preset, dtype);
        using var noGrad = no_grad();
        SequencesWithOwnCachesMatch(model, (ids, cache) => LlamaDecodeStep.TryForward(model, ids, cache), [[4], [60, 2, 9, 33, 17, 18, 1], [40, 41]], [10, 30, 16], tolerance);
    }

    [Fact]
    public void LeavesToTheModelWhatItDoesNotCover()
    {
        using var model = Model("qwen3-0.6b", ScalarType.Float32);
        using var noGrad = no_grad();
        using var cache = model.NewKvCache(10);
        model.forward(tensor(new long[] { 1, 2 }, [1, 2]), cache);
        Assert.NotNull(LlamaDecodeStep.TryForward(model, Ids(3), cache));
        Assert.Null(LlamaDecodeStep.TryForward(model, tensor(new long[] { 3, 4 }, [1, 2]), cache));
        Assert.Null(LlamaDecodeStep.TryForward(model, Ids(61), cache));
        Assert.Null(LlamaDecodeStep.TryForward(model, Ids(3, 4), cache));
        model.UseFusedAttention = false;
        Assert.Null(LlamaDecodeStep.TryForward(model, Ids(3), cache));
        model.UseFusedAttention = true;
        using (enable_grad()) Assert.Null(LlamaDecodeStep.TryForward(model, Ids(3), cache));
        // A LoRA adapter on the attention: the model's own forward, whose logits are still libtorch's.
        LoRA.Apply(model, rank: 2, alpha: 4);
        Assert.Null(LlamaDecodeStep.TryForward(model, Ids(3), cache));
        Assert.Equal(3, cache.Length);
        // Past the cache's room: refused, nothing written.
        using var full = model.NewKvCache(2);
        using var plain = Model("qwen3-0.6b", ScalarType.Float32);
        plain.forward(tensor(new long[] { 1, 2 }, [1, 2]), full);
        Assert.Throws<InvalidOperationException>(() => LlamaDecodeStep.TryForward(plain, Ids(3), full));
        Assert.Equal(2, full.Length);
    }
}
