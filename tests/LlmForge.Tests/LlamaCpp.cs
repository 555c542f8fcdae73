namespace LlmForge.Tests;

/// <summary>
/// llama.cpp itself, as node-llama-cpp 3.21.1 ships it prebuilt for the CPU (tests/clients/llama-cpp.mjs): its
/// tokenizer and greedy decoding on a GGUF file, and node-llama-cpp's reader of the file's metadata. A missing
/// package fails the test (never skips it).
/// </summary>
static class LlamaCpp
{
    public sealed record Run(int[] Tokenized, int[] Generated);

    static void RequirePackage() =>
        Assert.True(Directory.Exists(Path.Combine(NodeScript.ClientsDir, "node_modules", "node-llama-cpp")),
            "tests/clients/node_modules/node-llama-cpp is missing: run `npm ci` in tests/clients (the test project's build does it when npm is on the PATH)");

    /// <summary>llama.cpp's ids for <paramref name="prompt"/>, and its <paramref name="count"/> greedy ids after <paramref name="ids"/> (the tokenized prompt when null).</summary>
    public static Run Greedy(string gguf, string prompt, int count, IEnumerable<int>? ids = null)
    {
        RequirePackage();
        string[] args = ids == null ? ["greedy", gguf, prompt, count.ToString()] : ["greedy", gguf, prompt, count.ToString(), string.Join(",", ids)];
        var json = NodeScript.Json(NodeScript.Run("llama-cpp.mjs", args), "");
        return new Run(Ints(json.GetProperty("tokenized")), Ints(json.GetProperty("generated")));
    }

    /// <summary>The file's metadata (arrays given as <c>{length}</c>), its chat template and its tensors (name, dimensions, ggml type).</summary>
    public static JsonElement Info(string gguf)
    {
        RequirePackage();
        return NodeScript.Json(NodeScript.Run("llama-cpp.mjs", "info", gguf), "");
    }

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
