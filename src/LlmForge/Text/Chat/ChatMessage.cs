namespace LlmForge.Text.Chat;

/// <summary>One turn of a conversation: its role (<c>system</c>, <c>user</c>, <c>assistant</c>, ...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);
