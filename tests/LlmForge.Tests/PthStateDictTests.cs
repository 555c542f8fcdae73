namespace LlmForge.Tests;

/// <summary>
/// .pth state dicts whose tensors are views of their storages, as torch.save keeps them: transposed,
/// at an offset, sharing a storage, or with rows longer than the tensor. Each must load with the
/// values the view shows. Pickles that ask for anything but tensors stay refused.
/// </summary>
public sealed class PthStateDictTests() : ScratchDirectory("llmforge-pth")
{
    static float[] Values(Tensor t) => t.detach().contiguous().cpu().data<float>().ToArray();

    /// <summary>
    /// A seeded tiny model and a .pth of it where several weights are stored as strided views:
    /// the first feed-forward weight transposed ([128, 32] with strides [1, 128]); block 1's query,
    /// key and value in one storage at offsets 7, 1031 and 2055, the key transposed; the final norm's
    /// scale at offset 5 of a longer storage; block 1's last feed-forward weight as columns 1..128 of
    /// a [32, 130] matrix (row stride 130).
    /// </summary>
    (GptModel Model, string Path) StridedPth()
    {
        manual_seed(321);
        var model = new GptModel(GptConfig.Load(TestPaths.TinyConfig));
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var storages = new Dictionary<string, float[]>();
        var views = new List<PthWriter.View>();
        var special = new HashSet<string>();

        string ffIn = "trf_blocks.0.ff.layers.0.weight";
        storages["ffT"] = Values(parameters[ffIn].t());
        views.Add(new(ffIn, "ffT", 0, [128, 32], [1, 128]));

        var qkv = new List<float>(new float[7]);
        foreach (var (part, transposed) in new[] { ("W_query", false), ("W_key", true), ("W_value", false) })
        {
            string name = $"trf_blocks.1.att.{part}.weight";
            views.Add(new(name, "qkv", qkv.Count, [32, 32], transposed ? [1, 32] : [32, 1]));
            qkv.AddRange(Values(transposed ? parameters[name].t() : parameters[name]));
        }
        storages["qkv"] = [.. qkv];

        storages["scale"] = [.. new float[5], .. Values(parameters["final_norm.scale"]), 9, 9, 9];
        views.Add(new("final_norm.scale", "scale", 5, [32], [1]));

        string ffOut = "trf_blocks.1.ff.layers.2.weight";
        using (var wide = cat([full(new long[] { 32, 1 }, -1f), parameters[ffOut].detach(), full(new long[] { 32, 1 }, -2f)], 1))
            storages["wide"] = Values(wide);
        views.Add(new(ffOut, "wide", 1, [32, 128], [130, 1]));

        special.UnionWith(views.Select(v => v.Name));
        int key = 0;
        foreach (var (name, parameter) in parameters.Where(p => !special.Contains(p.Key)))
        {
            storages[$"{key}"] = Values(parameter);
            views.Add(new(name, $"{key++}", 0, parameter.shape, Strides(parameter.shape)));
        }
        string path = Path.Combine(_dir, "strided.pth");
        PthWriter.Write(path, storages, views);
        return (model, path);
    }

    static long[] Strides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= shape[i];
        }
        return strides;
    }

    [Fact]
    public void TransposedOffsetAndSlicedTensorsLoadWithTheirValues()
    {
        var (model, path) = StridedPth();
        using (model)
        using (var loaded = ModelLoader.Load(path, TestPaths.TinyConfig))
        {
            foreach (var ((name, expected), (_, actual)) in model.named_parameters().Zip(loaded.Model.named_parameters()))
                Assert.True(expected.allclose(actual, rtol: 0, atol: 0), name);
            using var source = PthStateDict.Open(path);
            using var transposed = source.Read("trf_blocks.0.ff.layers.0.weight");
            Assert.Equal([128L, 32L], transposed.shape);
            Assert.True(transposed.is_contiguous());
            Assert.True(transposed.allclose(model.named_parameters().Single(p => p.name == "trf_blocks.0.ff.layers.0.weight").parameter, rtol: 0, atol: 0));
        }
    }

    [Fact]
    public void TheCliGeneratesTheSameFromAStridedPthAsFromSafetensors()
    {
        var (model, pth) = StridedPth();
        string safetensors = Path.Combine(_dir, "same.safetensors");
        using (model) SafeTensorsFile.Write(safetensors, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        string[] Args(string file) => ["generate", "--model", file, "--config", TestPaths.TinyConfig, "--prompt", "Every effort moves you", "--max-new-tokens", "8", "--json"];
        var fromPth = CliRunner.Json(CliRunner.Run(Args(pth)));
        var fromSafetensors = CliRunner.Json(CliRunner.Run(Args(safetensors)));
        Assert.Equal(fromSafetensors.GetProperty("ids").ToString(), fromPth.GetProperty("ids").ToString());
    }

    /// <summary>A .pth whose data.pkl is <paramref name="pickle"/>, with one storage "0" of 8 floats.</summary>
    string PthWithPickle(string name, byte[] pickle)
    {
        string path = Path.Combine(_dir, name);
        PthWriter.Write(path, new Dictionary<string, float[]> { ["0"] = new float[8] }, pickle);
        return path;
    }

    static CliRunner.Result Generate(string path) =>
        CliRunner.Run("generate", "--model", path, "--config", TestPaths.TinyConfig, "--prompt", "hi", "--max-new-tokens", "1");

    [Fact]
    public void APickleCallingAnyOtherPythonFunctionIsRefused()
    {
        string marker = Path.Combine(_dir, "ran");
        // os.system("touch ...") as a pickle: the reader refuses the name before it could be called.
        var pickle = new PthWriter.Pickle().Global("os", "system").Text($"touch {marker}").Op(0x85).Op('R').Op('.').Bytes();
        string path = PthWithPickle("evil.pth", pickle);
        BadInputAssert.OneLine(Generate(path), path, "not a PyTorch state dict", "'os.system'");
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void AWholePickledModelIsRefusedWithTheWayToSaveAStateDict()
    {
        // torch.save(model) pickles the model's class by name.
        var pickle = new PthWriter.Pickle().Global("__main__", "GPTModel").Op(')').Op(0x81).Op('.').Bytes();
        string path = PthWithPickle("whole-model.pth", pickle);
        BadInputAssert.OneLine(Generate(path), path, "'__main__.GPTModel'", "torch.save(model.state_dict(), path)");
    }

    [Fact]
    public void AViewReachingPastItsStorageIsRefused()
    {
        var storages = new Dictionary<string, float[]> { ["0"] = new float[8] };
        string path = Path.Combine(_dir, "past-end.pth");
        PthWriter.Write(path, storages, [new PthWriter.View("tok_emb.weight", "0", 2, [4, 2], [1, 4])]);
        BadInputAssert.OneLine(Generate(path), path, "tensor 'tok_emb.weight' (size [4, 2], stride [1, 4], offset 2) reaches element 9 of a storage of 8");
    }

    [Fact]
    public void AMissingStorageIsRefused()
    {
        var declared = new Dictionary<string, float[]> { ["0"] = new float[8], ["1"] = new float[8] };
        var pickle = PthWriter.StateDict(declared, [new("tok_emb.weight", "0", 0, [8], [1]), new("pos_emb.weight", "1", 0, [8], [1])]);
        string path = Path.Combine(_dir, "missing-storage.pth");
        PthWriter.Write(path, new Dictionary<string, float[]> { ["0"] = new float[8] }, pickle);
        BadInputAssert.OneLine(Generate(path), path, "tensor 'pos_emb.weight' needs storage data/1, which the archive lacks");
    }

    [Fact]
    public void AnOpcodeOutsideStateDictsIsRefused()
    {
        // 'i' (INST) builds an instance of a named class in the oldest protocol.
        var pickle = new PthWriter.Pickle().Op('(').Op('i').Op('.').Bytes();
        string path = PthWithPickle("inst.pth", pickle);
        BadInputAssert.OneLine(Generate(path), path, "pickle opcode 0x69 at byte 3 is not one torch.save writes");
    }
}
