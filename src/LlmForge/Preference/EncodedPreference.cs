namespace LlmForge.Preference;

/// <summary>
/// One pair as token ids (the book's <c>PreferenceDataset</c> item): the prompt's length alone, and the
/// whole chosen and rejected texts, each encoded as one text (prompt, response header, response).
/// </summary>
public sealed record EncodedPreference(int PromptLength, int[] Chosen, int[] Rejected);
