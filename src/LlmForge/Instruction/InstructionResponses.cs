using System.Text.Json.Nodes;

namespace LlmForge.Instruction;

/// <summary>
/// The model's answers (chapter 7.5): the Alpaca prompt of an entry, greedy generation up to a number of
/// tokens, stopping at end-of-text, and the text after <c>### Response:</c> as the book extracts it.
/// </summary>
public static class InstructionResponses
{
    public static string Respond(ILanguageModel model, ITokenizer tokenizer, InstructionEntry entry, int maxNewTokens) =>
        Respond(model, tokenizer, entry, new GenerationOptions { MaxNewTokens = maxNewTokens });

    /// <summary>The response to <paramref name="entry"/> (its output is not used) with these generation settings.</summary>
    public static string Respond(ILanguageModel model, ITokenizer tokenizer, InstructionEntry entry, GenerationOptions options)
    {
        string prompt = AlpacaPrompt.Format(entry);
        int[] promptIds = tokenizer.Encode(prompt);
        if (tokenizer.EndOfTextId is int endOfText) options = options with { StopTokenId = endOfText };
        int[] newIds = TextGenerator.Generate(model, promptIds, options).ToArray();
        // Stopped at end-of-text: that id is not part of the answer.
        if (newIds.Length > 0 && newIds[^1] == options.StopTokenId) newIds = newIds[..^1];
        return AlpacaPrompt.ExtractResponse(tokenizer.Decode([.. promptIds, .. newIds]), prompt);
    }

    /// <summary>
    /// The response as it is generated, in pieces that join to <see cref="Respond(ILanguageModel, ITokenizer, InstructionEntry, GenerationOptions)"/>'s
    /// text (up to trailing white space): the model's own <c>### Response:</c> line and the white space
    /// around it are held back and dropped, and end-of-text ends it.
    /// </summary>
    public static IEnumerable<string> Stream(ILanguageModel model, ITokenizer tokenizer, InstructionEntry entry, GenerationOptions options)
    {
        if (tokenizer.EndOfTextId is int endOfText) options = options with { StopTokenId = endOfText };
        var decoder = tokenizer.NewStreamingDecoder();
        var response = new ResponseMarkerFilter();
        foreach (int id in TextGenerator.Generate(model, tokenizer.Encode(AlpacaPrompt.Format(entry)), options))
        {
            if (id == options.StopTokenId) break;
            string piece = response.Add(decoder.Add(id));
            if (piece.Length > 0) yield return piece;
        }
        string rest = response.Add(decoder.Finish());
        if (rest.Length > 0) yield return rest;
    }

    /// <summary>
    /// Every entry with its <c>model_response</c> (the book's <c>instruction-data-with-response.json</c>), written
    /// atomically to <paramref name="path"/>; <paramref name="progress"/> is told (done, all) after each.
    /// </summary>
    public static void Write(string path, ILanguageModel model, ITokenizer tokenizer, IReadOnlyList<InstructionEntry> entries, int maxNewTokens,
        Action<int, int>? progress = null)
    {
        bool wasTraining = model.Module.training;
        model.Module.eval();
        var array = new JsonArray();
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            array.Add(new JsonObject
            {
                ["instruction"] = entry.Instruction,
                ["input"] = entry.Input,
                ["output"] = entry.Output,
                ["model_response"] = Respond(model, tokenizer, entry, maxNewTokens),
            });
            progress?.Invoke(i + 1, entries.Count);
        }
        if (wasTraining) model.Module.train();
        AtomicFile.WriteAllText(path, array.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
