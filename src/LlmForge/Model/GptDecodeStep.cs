using System.Runtime.CompilerServices;
using LlmForge.Model.Attention;
using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// One decoding step of <see cref="GptModel"/> (one new token for each of a few sequences) computed where the numbers
/// lie: the embeddings looked up, each block's layer norms, GELU and shortcut additions done in one pass over a few
/// buffers, its keys and values written straight into the KV cache, attention and the products run on that memory
/// (<see cref="DecodeAttention"/>, <see cref="DecodeLinear"/>), and one tensor made, the logits. Through libtorch a
/// step is some 40 operations a block (norms, views, copies, additions), a few microseconds each however small the
/// rows; on gpt2-small that was 1.2-1.9 ms of a 14-15 ms bf16 token, more than anything but the products.
/// </summary>
/// <remarks>
/// It takes the same steps as <see cref="GptModel.forward(Tensor, KvCache?)"/> and rounds where libtorch rounds (a bf16
/// model's every norm, product, GELU and addition to bf16), so the two agree to float rounding. Only inference with
/// the fast paths on takes it: no gradient, the model in eval mode with fused attention, plain linear layers (no
/// LoRA) in fp32 or bf16 on the CPU, ids <c>[B, 1]</c> with B as <see cref="DecodeLinear.TakesRows"/> allows. Anything
/// else (and any bad input, whose error the tensor path then gives) returns null for the model's own forward.
/// </remarks>
public static unsafe class GptDecodeStep
{
    /// <summary>A block's parts as the step reads them.</summary>
    sealed record Block(Linear Query, Linear Key, Linear Value, Linear Output, Linear Up, Linear Down, LayerNorm Norm1, LayerNorm Norm2);

    /// <summary>Logits <c>[B, 1, outputs]</c> for ids <paramref name="idx"/> <c>[B, 1]</c> after <paramref name="cache"/>, or null where this step does not apply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static Tensor? TryForward(GptModel model, Tensor idx, KvCache cache)
    {
        var tokenTable = model.tok_emb.weight!;
        var positionTable = model.pos_emb.weight!;
        var dtype = tokenTable.dtype;
        if (!DecodeStep.Allowed || model.training || !model.UseFusedAttention || DecodeStep.Ids(idx, tokenTable.size(0)) is not { } ids
            || !DecodeStep.Readable(tokenTable, dtype) || !DecodeStep.Readable(positionTable, dtype)
            || !Norms(model.final_norm, dtype) || model.OutputHead is not Linear head || !DecodeLinear.Takes(head.weight!, head.bias, dtype))
            return null;
        int embDim = model.Config.EmbDim, heads = model.Config.NHeads, dim = embDim / heads, batch = ids.Length;
        var blocks = new Block[model.trf_blocks.Count];
        for (int l = 0; l < blocks.Length; l++)
        {
            var block = model.trf_blocks[l];
            var (query, key, value, output, blockHeads) = block.att.Parts;
            var (up, down) = block.ff.layers.Parts;
            if (block.training || blockHeads != heads || query is not Linear q || key is not Linear k || value is not Linear v || output is not Linear o
                || up is not Linear u || down is not Linear d || !Norms(block.norm1, dtype) || !Norms(block.norm2, dtype)
                || new[] { q, k, v, o, u, d }.Any(linear => !DecodeLinear.Takes(linear.weight!, linear.bias, dtype)))
                return null;
            blocks[l] = new Block(q, k, v, o, u, d, block.norm1, block.norm2);
        }
        int hidden = (int)blocks[0].Up.weight!.size(0), outputs = (int)head.weight!.size(0);
        if (DecodeStep.Caches.For(cache, batch, blocks.Length, heads, dim, dtype, model.Config.ContextLength) is not { } caches) return null;

        bool bf16 = dtype == ScalarType.BFloat16;
        int size = bf16 ? 2 : 4;
        var logits = empty([batch, 1, outputs], dtype: dtype);
        var at = new Layout(DecodeStep.Scratch(Layout.Floats(batch, embDim, hidden)), batch, embDim, hidden);
        // x = token embedding + position embedding (dropout is off in eval mode).
        fixed (byte* tokens = tokenTable.bytes, positions = positionTable.bytes)
            for (int b = 0; b < batch; b++)
            {
                float* row = at.X + b * embDim;
                DecodeStep.Load(tokens + ids[b] * embDim * size, bf16, row, embDim);
                DecodeStep.Load(positions + caches.Position(0, b) * embDim * size, bf16, at.Wide, embDim);
                DecodeStep.Add(row, at.Wide, embDim, bf16);
            }
        for (int l = 0; l < blocks.Length; l++)
        {
            var block = blocks[l];
            // Attention: the normalised rows' queries, keys and values; keys and values stored at each row's position.
            Normalise(block.Norm1, at, batch, embDim, bf16);
            DecodeLinear.Multiply(block.Query.weight!, block.Query.bias, at.Normed, batch, at.Query);
            DecodeLinear.Multiply(block.Key.weight!, block.Key.bias, at.Normed, batch, at.Key);
            DecodeLinear.Multiply(block.Value.weight!, block.Value.bias, at.Normed, batch, at.Value);
            var cached = caches.Store(l, at.Key, at.Value);
            DecodeAttention.Attend(DecodeStep.Load(at.Query, bf16, at.Wide, batch * embDim), heads, 1, dim, cached, bf16, at.Context);
            DecodeLinear.Multiply(block.Output.weight!, block.Output.bias, at.Context, batch, at.Product);
            DecodeStep.Add(at.X, DecodeStep.Load(at.Product, bf16, at.Wide, batch * embDim), batch * embDim, bf16);
            // Feed-forward: widen, GELU, narrow, added to the shortcut.
            Normalise(block.Norm2, at, batch, embDim, bf16);
            DecodeLinear.Multiply(block.Up.weight!, block.Up.bias, at.Normed, batch, at.Hidden);
            Gelu.Apply(new Span<float>(DecodeStep.Load(at.Hidden, bf16, at.Wide, batch * hidden), batch * hidden));
            DecodeStep.Store(at.Wide, at.Hidden, bf16, batch * hidden);
            DecodeLinear.Multiply(block.Down.weight!, block.Down.bias, at.Hidden, batch, at.Product);
            DecodeStep.Add(at.X, DecodeStep.Load(at.Product, bf16, at.Wide, batch * embDim), batch * embDim, bf16);
            caches.Advance(l);
        }
        Normalise(model.final_norm, at, batch, embDim, bf16);
        fixed (byte* y = logits.bytes) DecodeLinear.Multiply(head.weight!, head.bias, at.Normed, batch, y);
        return logits;
    }

    /// <summary>Whether a layer norm's scale and shift are read as the step needs them.</summary>
    static bool Norms(LayerNorm norm, ScalarType dtype) =>
        norm.scale.dtype == dtype && norm.shift.dtype == dtype && norm.scale.device_type == DeviceType.CPU && norm.shift.device_type == DeviceType.CPU
        && norm.scale.is_contiguous() && norm.shift.is_contiguous();

    /// <summary>Each row of x normalised by <paramref name="norm"/> into <see cref="Layout.Normed"/>, in the model's dtype.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void Normalise(LayerNorm norm, Layout at, int batch, int embDim, bool bf16)
    {
        fixed (byte* scale = norm.scale.bytes, shift = norm.shift.bytes)
        {
            // A bf16 norm's scale and shift widened (exactly) once for all the rows.
            float* scale32 = bf16 ? DecodeStep.Load(scale, true, at.Wide, embDim) : (float*)scale;
            float* shift32 = bf16 ? DecodeStep.Load(shift, true, at.Wide + embDim, embDim) : (float*)shift;
            float* row = at.Wide + 2 * embDim;
            for (int b = 0; b < batch; b++)
            {
                LayerNorm.Normalise(new ReadOnlySpan<float>(at.X + b * embDim, embDim), new ReadOnlySpan<float>(scale32, embDim),
                    new ReadOnlySpan<float>(shift32, embDim), new Span<float>(row, embDim));
                DecodeStep.Store(row, at.Normed + (long)b * embDim * (bf16 ? 2 : 4), bf16, embDim);
            }
        }
    }

    /// <summary>
    /// Where each buffer of the step's working memory starts: x (the shortcut's running sum, fp32 holding values of the
    /// model's dtype), the products' inputs and outputs in the model's dtype (room for fp32 given to each), and fp32 room
    /// for widened rows.
    /// </summary>
    readonly struct Layout(float* scratch, int batch, int embDim, int hidden)
    {
        public static long Floats(int batch, int embDim, int hidden) => (long)batch * (7 * embDim + hidden) + Math.Max((long)batch * Math.Max(embDim, hidden), 3 * embDim);

        readonly int _rows = batch * embDim;
        public float* X => scratch;
        public byte* Normed => (byte*)(scratch + _rows);
        public byte* Query => (byte*)(scratch + 2 * _rows);
        public byte* Key => (byte*)(scratch + 3 * _rows);
        public byte* Value => (byte*)(scratch + 4 * _rows);
        public byte* Context => (byte*)(scratch + 5 * _rows);
        public byte* Product => (byte*)(scratch + 6 * _rows);
        public byte* Hidden => (byte*)(scratch + 7 * _rows);
        /// <summary>fp32 room for widened rows: queries, a product, the hidden rows, or a norm's scale, shift and row.</summary>
        public float* Wide => scratch + 7 * _rows + batch * hidden;
    }
}
