namespace LlmForge.Text;

/// <summary>Text or a vocabulary a tokenizer cannot handle; the message says what and where.</summary>
public sealed class TokenizerException(string message) : BadInputException(message);
