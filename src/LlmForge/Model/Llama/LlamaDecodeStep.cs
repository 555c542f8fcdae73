using System.Runtime.CompilerServices;
using LlmForge.Model.Attention;
using TorchSharp.Modules;

namespace LlmForge.Model.Llama;

/// <summary>
/// One decoding step of <see cref="LlamaModel"/> (Llama 3, Qwen3) on raw memory, as <see cref="GptDecodeStep"/> is for the
/// GPT: the embedding row looked up, each block's RMSNorms, query and key norms, rotations, SwiGLU gate and shortcut
/// additions done in one pass over a few buffers, keys and values written straight into the KV cache, attention and the
/// products run on that memory, and one tensor made, the logits. It rounds where the model's forward rounds, so the two
/// agree to float rounding.
/// </summary>
/// <remarks>
/// Only inference with the fast paths on takes it: no gradient, fused attention, plain linear layers (no LoRA) in fp32
/// or bf16 on the CPU, ids <c>[B, 1]</c> with B as <see cref="DecodeLinear.TakesRows"/> allows. Anything else (and any
/// bad input, whose error the model's forward then gives) returns null.
/// </remarks>
public static unsafe class LlamaDecodeStep
{
    /// <summary>A block's parts as the step reads them.</summary>
    sealed record Block(Linear Query, Linear Key, Linear Value, Linear Output, RmsNorm? QueryNorm, RmsNorm? KeyNorm,
        Linear Gate, Linear Up, Linear Down, RmsNorm Norm1, RmsNorm Norm2);

    /// <summary>Logits <c>[B, 1, outputs]</c> for ids <paramref name="idx"/> <c>[B, 1]</c> after <paramref name="cache"/>, or null where this step does not apply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static Tensor? TryForward(LlamaModel model, Tensor idx, KvCache cache)
    {
        var table = model.tok_emb.weight;
        var dtype = table.dtype;
        var (headModule, rope) = model.DecodeParts;
        // A tied head reads the embedding's matrix.
        (Tensor? headWeight, Tensor? headBias) = headModule switch
        {
            null => (table, null),
            Linear linear => (linear.weight, linear.bias),
            _ => (null, null),
        };
        if (!DecodeStep.Allowed || !model.UseFusedAttention || DecodeStep.Ids(idx, table.size(0)) is not { } ids || headWeight is null
            || !DecodeStep.Readable(table, dtype) || !Norm(model.final_norm, dtype) || !DecodeLinear.Takes(headWeight, headBias, dtype))
            return null;
        var config = model.Config;
        int embDim = config.HiddenSize, heads = config.NumHeads, groups = config.NumKvHeads, dim = config.HeadDim, batch = ids.Length;
        var blocks = new Block[model.trf_blocks.Count];
        for (int l = 0; l < blocks.Length; l++)
        {
            var block = model.trf_blocks[l];
            var (query, key, value, output, queryNorm, keyNorm, blockHeads, blockGroups, blockDim) = block.att.Parts;
            var (gate, up, down) = block.ff.Parts;
            if (blockHeads != heads || blockGroups != groups || blockDim != dim || query is not Linear q || key is not Linear k || value is not Linear v
                || output is not Linear o || gate is not Linear g || up is not Linear u || down is not Linear d
                || !Norm(block.norm1, dtype) || !Norm(block.norm2, dtype) || queryNorm != null && !Norm(queryNorm, dtype) || keyNorm != null && !Norm(keyNorm, dtype)
                || new[] { q, k, v, o, g, u, d }.Any(linear => !DecodeLinear.Takes(linear.weight!, linear.bias, dtype)))
                return null;
            blocks[l] = new Block(q, k, v, o, queryNorm, keyNorm, g, u, d, block.norm1, block.norm2);
        }
        int hidden = (int)blocks[0].Up.weight!.size(0), outputs = (int)headWeight.size(0);
        if (DecodeStep.Caches.For(cache, batch, blocks.Length, groups, dim, dtype, config.ContextLength) is not { } caches) return null;

        bool bf16 = dtype == ScalarType.BFloat16;
        int size = bf16 ? 2 : 4;
        var logits = empty([batch, 1, outputs], dtype: dtype);
        var at = new Layout(DecodeStep.Scratch(Layout.Floats(batch, embDim, heads * dim, hidden)), batch, embDim, heads * dim, hidden);
        fixed (byte* tokens = table.bytes)
            for (int b = 0; b < batch; b++) DecodeStep.Load(tokens + ids[b] * embDim * size, bf16, at.X + b * embDim, embDim);
        for (int l = 0; l < blocks.Length; l++)
        {
            var block = blocks[l];
            // Attention: queries and keys normalised per head (Qwen3) and rotated to each row's position; keys and values stored.
            Normalise(block.Norm1, at.X, batch, embDim, bf16, at.Normed);
            DecodeLinear.Multiply(block.Query.weight!, block.Query.bias, at.Normed, batch, at.Query);
            DecodeLinear.Multiply(block.Key.weight!, block.Key.bias, at.Normed, batch, at.Key);
            DecodeLinear.Multiply(block.Value.weight!, block.Value.bias, at.Normed, batch, at.Value);
            for (int b = 0; b < batch; b++)
            {
                byte* queries = at.Query + (long)b * heads * dim * size, keys = at.Key + (long)b * groups * dim * size;
                if (block.QueryNorm != null) NormaliseHeads(block.QueryNorm, queries, heads, dim, bf16, at.Wide);
                if (block.KeyNorm != null) NormaliseHeads(block.KeyNorm, keys, groups, dim, bf16, at.Wide);
                long position = caches.Position(l, b);
                rope.Rotate(queries, queries, heads, position, dtype);
                rope.Rotate(keys, keys, groups, position, dtype);
            }
            var cached = caches.Store(l, at.Key, at.Value);
            // Query head h belongs to key/value head h / (heads / groups): the heads' order is the groups' [groups, per group].
            DecodeAttention.Attend(DecodeStep.Load(at.Query, bf16, at.Wide, batch * heads * dim), groups, heads / groups, dim, cached, bf16, at.Context);
            DecodeLinear.Multiply(block.Output.weight!, block.Output.bias, at.Context, batch, at.Product);
            DecodeStep.Add(at.X, DecodeStep.Load(at.Product, bf16, at.Wide, batch * embDim), batch * embDim, bf16);
            // SwiGLU: fc3(silu(fc1(x)) * fc2(x)), added to the shortcut.
            Normalise(block.Norm2, at.X, batch, embDim, bf16, at.Normed);
            DecodeLinear.Multiply(block.Gate.weight!, block.Gate.bias, at.Normed, batch, at.Gate);
            DecodeLinear.Multiply(block.Up.weight!, block.Up.bias, at.Normed, batch, at.Up);
            float* gated = DecodeStep.Load(at.Gate, bf16, at.Wide, batch * hidden), ups = DecodeStep.Load(at.Up, bf16, at.Wide + batch * hidden, batch * hidden);
            SwiGluFeedForward.Gate(new Span<float>(gated, batch * hidden), new ReadOnlySpan<float>(ups, batch * hidden), bf16);
            DecodeStep.Store(gated, at.Gate, bf16, batch * hidden);
            DecodeLinear.Multiply(block.Down.weight!, block.Down.bias, at.Gate, batch, at.Product);
            DecodeStep.Add(at.X, DecodeStep.Load(at.Product, bf16, at.Wide, batch * embDim), batch * embDim, bf16);
            caches.Advance(l);
        }
        Normalise(model.final_norm, at.X, batch, embDim, bf16, at.Normed);
        fixed (byte* y = logits.bytes) DecodeLinear.Multiply(headWeight, headBias, at.Normed, batch, y);
        return logits;
    }

    /// <summary>Whether an RMSNorm's scale is read as the step needs it.</summary>
    static bool Norm(RmsNorm norm, ScalarType dtype) => norm.scale.dtype == dtype && norm.scale.device_type == DeviceType.CPU && norm.scale.is_contiguous();

    /// <summary>Each fp32 row of <paramref name="x"/> normalised by <paramref name="norm"/> into <paramref name="output"/>, in the dtype.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void Normalise(RmsNorm norm, float* x, int rows, int dim, bool bf16, byte* output)
    {
        fixed (byte* scale = norm.scale.bytes)
            for (int r = 0; r < rows; r++)
                RmsNorm.NormaliseRow(x + (long)r * dim, dim, (float)norm.Eps, scale, bf16, output + (long)r * dim * (bf16 ? 2 : 4));
    }

    /// <summary>A row's <paramref name="heads"/> heads (in the dtype) normalised in place by <paramref name="norm"/> (Qwen3's q_norm, k_norm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void NormaliseHeads(RmsNorm norm, byte* rows, int heads, int dim, bool bf16, float* room)
    {
        fixed (byte* scale = norm.scale.bytes)
            for (int h = 0; h < heads; h++)
            {
                byte* head = rows + (long)h * dim * (bf16 ? 2 : 4);
                RmsNorm.NormaliseRow(DecodeStep.Load(head, bf16, room, dim), dim, (float)norm.Eps, scale, bf16, head);
            }
    }

    /// <summary>
    /// Where each buffer of the step's working memory starts: x (the shortcut's running sum, fp32 holding values of the
    /// model's dtype), the products' inputs and outputs in the model's dtype (room for fp32 given to each), and fp32
    /// room for widened rows (two of the hidden width, for the gate and the up projection).
    /// </summary>
    readonly struct Layout(float* scratch, int batch, int embDim, int queryWidth, int hidden)
    {
        public static long Floats(int batch, int embDim, int queryWidth, int hidden) =>
            (long)batch * (3 * embDim + 4 * queryWidth + 2 * hidden) + 2L * batch * Math.Max(Math.Max(embDim, queryWidth), hidden);

        public float* X => scratch;
        public byte* Normed => (byte*)(scratch + batch * embDim);
        public byte* Product => (byte*)(scratch + 2 * batch * embDim);
        public byte* Query => (byte*)(scratch + 3 * batch * embDim);
        public byte* Context => (byte*)(scratch + 3 * batch * embDim + batch * queryWidth);
        // Keys and values are no wider than queries (grouped-query attention): each is given a query's room.
        public byte* Key => (byte*)(scratch + 3 * batch * embDim + 2 * batch * queryWidth);
        public byte* Value => (byte*)(scratch + 3 * batch * embDim + 3 * batch * queryWidth);
        public byte* Gate => (byte*)(scratch + 3 * batch * embDim + 4 * batch * queryWidth);
        public byte* Up => (byte*)(scratch + 3 * batch * embDim + 4 * batch * queryWidth + batch * hidden);
        public float* Wide => scratch + 3 * batch * embDim + 4 * batch * queryWidth + 2 * batch * hidden;
    }
}
