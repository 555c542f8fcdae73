using LlmForge.Instruction;

namespace LlmForge.Preference;

/// <summary>
/// One preference pair: an instruction (and optional input) with a preferred and a dispreferred
/// response, as the book's <c>instruction-data-with-preference.json</c> holds them. <see cref="Output"/>
/// is the plain instruction-tuning answer, when the file has one (DPO does not use it);
/// <see cref="Index"/> is the entry's place in its file, from 0.
/// </summary>
public sealed record PreferenceEntry(string Instruction, string Input, string Chosen, string Rejected, string? Output, int Index)
{
    /// <summary>The Alpaca prompt of this entry (without the response header).</summary>
    public string Prompt => AlpacaPrompt.Format(Instruction, Input);

    /// <summary>The prompt, the response header and the chosen response: the text the chosen sequence encodes.</summary>
    public string ChosenText => Prompt + AlpacaPrompt.ResponseHeader + Chosen;

    /// <summary>The same with the rejected response.</summary>
    public string RejectedText => Prompt + AlpacaPrompt.ResponseHeader + Rejected;
}
