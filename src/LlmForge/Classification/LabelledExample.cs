namespace LlmForge.Classification;

/// <summary>One text and its label as a file holds them, with the 1-based line it starts on (for messages).</summary>
public sealed record LabelledExample(string Label, string Text, int Line);
