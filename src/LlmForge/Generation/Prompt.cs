using System.Text.RegularExpressions;

namespace LlmForge.Generation;

/// <summary>
/// Turns a prompt into the ids generation starts from, refusing what would quietly go wrong: an empty prompt,
/// a special token the tokenizer does not have (it would become plain text), an id the model has no embedding for.
/// A prompt longer than the model's context is allowed: generation keeps its last tokens, as the book's loop does.
/// </summary>
public static partial class Prompt
{
    /// <summary>The check that needs no model, so that a command can refuse an empty prompt before loading one.</summary>
    /// <param name="name">how the message names the prompt, such as <c>--prompt</c>.</param>
    /// <exception cref="BadInputException">the prompt is empty.</exception>
    public static void RequireText(string text, string name = "the prompt")
    {
        if (text.Length == 0) throw new BadInputException($"{name} is empty: generation needs at least one token");
    }

    /// <summary>The ids of <paramref name="text"/> for a model with a vocabulary of <paramref name="vocabSize"/>.</summary>
    /// <exception cref="BadInputException">the prompt is empty, gives no tokens, names an unknown special token, or has an id outside the vocabulary.</exception>
    public static int[] Encode(ITokenizer tokenizer, string text, int vocabSize)
    {
        RequireText(text);
        CheckSpecialTokens(text, tokenizer);
        int[] ids = tokenizer.Encode(text);
        if (ids.Length == 0) throw new BadInputException("the prompt gives no tokens (the tokenizer drops all of it): generation needs at least one token");
        if (ids.FirstOrDefault(id => id >= vocabSize, -1) is var outside and >= 0)
            throw new BadInputException($"the prompt has token id {outside}, outside the model's vocabulary of {vocabSize}");
        return ids;
    }

    /// <summary>A prompt may only name special tokens the tokenizer knows; others would silently become plain text.</summary>
    static void CheckSpecialTokens(string prompt, ITokenizer tokenizer)
    {
        var known = tokenizer.SpecialTokens.Select(s => s.Text).ToHashSet();
        foreach (Match match in SpecialTokenPattern().Matches(prompt))
            if (!known.Contains(match.Value))
                throw new BadInputException($"the prompt names the special token {match.Value}, which this model's tokenizer does not have (it knows {(known.Count == 0 ? "none" : string.Join(", ", known))})");
    }

    [GeneratedRegex(@"<\|[^|<>\s]+\|>")]
    private static partial Regex SpecialTokenPattern();
}
