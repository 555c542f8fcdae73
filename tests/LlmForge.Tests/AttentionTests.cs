using LlmForge.Model.Attention;

namespace LlmForge.Tests;

/// <summary>Chapter 3's attention variants: equal given equal weights, causal, and dropout only in training.</summary>
public class AttentionTests
{
    // The book's six 3-d embeddings of "Your journey starts with one step".
    static Tensor Inputs() => tensor(new float[]
    {
        0.43f, 0.15f, 0.89f, 0.55f, 0.87f, 0.66f, 0.57f, 0.85f, 0.64f,
        0.22f, 0.58f, 0.33f, 0.77f, 0.25f, 0.10f, 0.05f, 0.80f, 0.55f,
    }, [6, 3]);

    static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-6) =>
        Assert.True(expected.allclose(actual, rtol: 0, atol: tolerance), $"max difference {(expected - actual).abs().max().item<float>()}");

    [Fact]
    public void SelfAttentionV1AndV2AgreeWithTheSameWeights()
    {
        manual_seed(789);
        using var v2 = new SelfAttentionV2(3, 2);
        using var v1 = new SelfAttentionV1(3, 2);
        using (no_grad())
        {
            // V1 multiplies x·W; Linear computes x·Wᵀ: the same weights, transposed.
            v1.W_query.copy_(v2.W_query.weight!.t());
            v1.W_key.copy_(v2.W_key.weight!.t());
            v1.W_value.copy_(v2.W_value.weight!.t());
        }
        using var x = Inputs();
        using var a = v1.forward(x);
        using var b = v2.forward(x);
        Assert.Equal([6L, 2], a.shape);
        AssertClose(a, b);
    }

    [Fact]
    public void AttentionWeightsAreASoftmaxOverTheScaledScores()
    {
        manual_seed(123);
        using var attention = new SelfAttentionV1(3, 2);
        using var x = Inputs();
        // By hand for the second token (the book's "journey"): scores q2·kᵢ, softmax of scores/√2.
        using var queries = x.matmul(attention.W_query);
        using var keys = x.matmul(attention.W_key);
        using var values = x.matmul(attention.W_value);
        float[] q = queries[1].data<float>().ToArray();
        var scores = Enumerable.Range(0, 6).Select(i => { var k = keys[i].data<float>().ToArray(); return (q[0] * k[0] + q[1] * k[1]) / Math.Sqrt(2); }).ToArray();
        var weights = scores.Select(Math.Exp).ToArray();
        double sum = weights.Sum();
        var context = new double[2];
        for (int i = 0; i < 6; i++)
        {
            var v = values[i].data<float>().ToArray();
            context[0] += weights[i] / sum * v[0];
            context[1] += weights[i] / sum * v[1];
        }
        using var output = attention.forward(x);
        float[] got = output[1].data<float>().ToArray();
        Assert.Equal(context[0], got[0], 5);
        Assert.Equal(context[1], got[1], 5);
    }

    [Fact]
    public void WrapperOfCausalHeadsEqualsMultiHeadAttentionWithTheSameWeights()
    {
        manual_seed(123);
        const int dIn = 3, dHead = 2, heads = 2;
        using var wrapper = new MultiHeadAttentionWrapper(dIn, dHead, 0.0, heads, qkvBias: true);
        using var efficient = new MultiHeadAttention(dIn, dHead * heads, 0.0, heads, qkvBias: true);
        using (no_grad())
        {
            // Stack the heads' projections; out_proj becomes the identity so that only the attention is compared.
            foreach (var (name, pick) in new (string, Func<CausalAttention, TorchSharp.Modules.Linear>)[]
                     { ("q", h => h.W_query), ("k", h => h.W_key), ("v", h => h.W_value) })
            {
                var target = Linear(efficient, name switch { "q" => "W_query", "k" => "W_key", _ => "W_value" });
                target.weight!.copy_(cat(wrapper.heads.Select(h => pick(h).weight!).ToArray(), 0));
                target.bias!.copy_(cat(wrapper.heads.Select(h => pick(h).bias!).ToArray(), 0));
            }
            Linear(efficient, "out_proj").weight!.copy_(eye(dHead * heads));
            Linear(efficient, "out_proj").bias!.zero_();
        }
        using var batch = stack([Inputs(), Inputs()]);
        wrapper.eval();
        efficient.eval();
        using var expected = wrapper.forward(batch);
        Assert.Equal([2L, 6, 4], expected.shape);
        foreach (bool fused in new[] { true, false })
        {
            efficient.UseFusedAttention = fused;
            using var got = efficient.forward(batch);
            AssertClose(expected, got, 1e-5);
        }
    }

    [Fact]
    public void ChangingAFutureTokenNeverChangesEarlierOutputs()
    {
        manual_seed(123);
        using var attention = new MultiHeadAttention(8, 8, 0.0, 2);
        using var causal = new CausalAttention(8, 8, 0.0);
        using var x = randn(1, 10, 8);
        using var changed = x.clone();
        using (no_grad()) changed[0, 6].add_(5.0f);
        foreach (var module in new Func<Tensor, Tensor>[]
                 {
                     t => { attention.UseFusedAttention = true; return attention.forward(t); },
                     t => { attention.UseFusedAttention = false; return attention.forward(t); },
                     causal.forward,
                 })
        {
            using var a = module(x);
            using var b = module(changed);
            AssertClose(a[.., ..6], b[.., ..6]);
            Assert.False(a[0, 6].allclose(b[0, 6]));
        }
    }

    [Fact]
    public void DropoutActsInTrainingOnlyAndFusedEqualsExplicitInEvaluation()
    {
        manual_seed(123);
        using var attention = new MultiHeadAttention(16, 16, 0.5, 4);
        using var x = randn(2, 12, 16);
        attention.eval();
        attention.UseFusedAttention = false;
        using var explicitEval = attention.forward(x);
        using var explicitAgain = attention.forward(x);
        AssertClose(explicitEval, explicitAgain, 0);
        attention.UseFusedAttention = true;
        using var fusedEval = attention.forward(x);
        AssertClose(explicitEval, fusedEval, 1e-5);

        attention.train();
        foreach (bool fused in new[] { true, false })
        {
            attention.UseFusedAttention = fused;
            using var trained = attention.forward(x);
            Assert.False(trained.allclose(explicitEval, rtol: 0, atol: 1e-3), $"fused={fused}: dropout changed nothing");
        }
    }

    [Fact]
    public void CausalMaskHidesOnlyTheFutureIncludingCachedOffsets()
    {
        using var mask = CausalMask.Create(2, 3, CPU);
        // Queries at positions 3 and 4 over keys 0..4: position 3 may not see key 4.
        Assert.Equal(new[] { false, false, false, false, true, false, false, false, false, false }, mask.data<bool>().ToArray());
    }

    /// <summary>The linear layer in one of the attention's slots.</summary>
    static TorchSharp.Modules.Linear Linear(MultiHeadAttention attention, string slot) => (TorchSharp.Modules.Linear)attention.GetSlot(slot);
}
