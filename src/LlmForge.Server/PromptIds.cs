namespace LlmForge.Server;

/// <summary>A request's prompt as the model's ids, refused with a message naming the field when generation cannot start from it.</summary>
public static class PromptIds
{
    /// <summary>The ids of a text prompt; empty prompts and prompts of special tokens alone are refused (400).</summary>
    public static int[] Encode(ServedModel served, string text, string param = "prompt")
    {
        int[] ids;
        try
        {
            ids = Generation.Prompt.Encode(served.Tokenizer, text, served.Network.OutputSize);
        }
        catch (BadInputException e)
        {
            throw new ApiException(400, e.Message, param, "invalid_parameter"); // the message names the prompt already
        }
        RequireText(served, ids, param);
        return ids;
    }

    /// <summary>OpenAI's prompt as token ids (an array of integers), each inside the vocabulary.</summary>
    public static int[] FromIds(ServedModel served, JsonArray array, string param = "prompt")
    {
        var ids = new int[array.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            if (array[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out int id))
                throw ApiException.BadParameter(param, $"expected a string or an array of token ids, got {RequestBody.Describe(array[i])} at [{i}]");
            if (id < 0 || id >= served.Network.OutputSize)
                throw ApiException.BadParameter(param, $"token id {id} at [{i}] is outside the model's vocabulary of {served.Network.OutputSize:N0}");
            ids[i] = id;
        }
        if (ids.Length == 0) throw ApiException.BadParameter(param, "is empty: generation needs at least one token");
        RequireText(served, ids, param);
        return ids;
    }

    /// <summary>A prompt of special tokens alone (<c>&lt;|endoftext|&gt;</c>) gives the model nothing to continue.</summary>
    static void RequireText(ServedModel served, int[] ids, string param)
    {
        var special = served.Tokenizer.SpecialTokens.Select(s => s.Id).ToHashSet();
        if (ids.All(special.Contains))
            throw ApiException.BadParameter(param, "has only special tokens (" + string.Join(", ", ids.Distinct().Select(id => served.Tokenizer.Decode([id]))) + "): give some text to continue");
    }
}
