using System.Numerics;

namespace LlmForge.Training;

/// <summary>
/// One AdamW update of one fp32 CPU parameter in a single pass over memory. Written as tensor
/// operations the update reads and writes the 163M-parameter model's weights and moments nine
/// times and allocates a temporary the size of each weight; here each element is loaded once,
/// which took the optimizer from about 800 ms to about 200 ms a step on gpt2-small. The arithmetic
/// follows <c>torch.optim.AdamW</c>'s order, so results agree to float rounding.
/// </summary>
static class AdamWKernel
{
    /// <summary>Elements per parallel chunk: big enough to amortise scheduling, small enough to split a layer across cores.</summary>
    const int ChunkSize = 1 << 18;

    public static bool Supports(Tensor p, Tensor grad, Tensor expAvg, Tensor expAvgSq) =>
        p.dtype == ScalarType.Float32 && grad.dtype == ScalarType.Float32 && expAvg.dtype == ScalarType.Float32 && expAvgSq.dtype == ScalarType.Float32
        && p.device_type == DeviceType.CPU && grad.device_type == DeviceType.CPU
        && p.is_contiguous() && grad.is_contiguous() && expAvg.is_contiguous() && expAvgSq.is_contiguous();

    /// <summary>The step's scalars, each rounded to float once from its double value as libtorch does (1 − β2 computed in float would be off by 5e-5).</summary>
    public readonly record struct Coefficients(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float Decay, float StepSize, float InvSqrtBiasCorrection2, float Eps);

    public static unsafe void Step(Tensor p, Tensor grad, Tensor expAvg, Tensor expAvgSq, Coefficients c)
    {
        long n = p.numel();
        fixed (byte* pp = p.bytes, gp = grad.bytes, mp = expAvg.bytes, vp = expAvgSq.bytes)
        {
            float* w = (float*)pp, g = (float*)gp, m = (float*)mp, v = (float*)vp;
            int chunks = (int)((n + ChunkSize - 1) / ChunkSize);
            if (chunks == 1) Range(w, g, m, v, 0, n, c);
            else Parallel.For(0, chunks, i => Range(w, g, m, v, (long)i * ChunkSize, Math.Min(n, (long)(i + 1) * ChunkSize), c));
        }
    }

    static unsafe void Range(float* w, float* g, float* m, float* v, long start, long end, Coefficients c)
    {
        float oneMinusBeta1 = c.OneMinusBeta1, oneMinusBeta2 = c.OneMinusBeta2;
        long i = start;
        int width = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var beta1 = new Vector<float>(c.Beta1);
            var beta2 = new Vector<float>(c.Beta2);
            var a1 = new Vector<float>(oneMinusBeta1);
            var a2 = new Vector<float>(oneMinusBeta2);
            var decay = new Vector<float>(c.Decay);
            var stepSize = new Vector<float>(c.StepSize);
            var invSqrtBc2 = new Vector<float>(c.InvSqrtBiasCorrection2);
            var eps = new Vector<float>(c.Eps);
            for (; i + width <= end; i += width)
            {
                var gi = Vector.Load(g + i);
                var mi = Vector.Load(m + i) * beta1 + gi * a1;
                var vi = Vector.Load(v + i) * beta2 + gi * gi * a2;
                mi.Store(m + i);
                vi.Store(v + i);
                var denominator = Vector.SquareRoot(vi) * invSqrtBc2 + eps;
                (Vector.Load(w + i) * decay + stepSize * (mi / denominator)).Store(w + i);
            }
        }
        for (; i < end; i++)
        {
            float mi = m[i] * c.Beta1 + g[i] * oneMinusBeta1;
            float vi = v[i] * c.Beta2 + g[i] * g[i] * oneMinusBeta2;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] * c.Decay + c.StepSize * (mi / (MathF.Sqrt(vi) * c.InvSqrtBiasCorrection2 + c.Eps));
        }
    }
}
