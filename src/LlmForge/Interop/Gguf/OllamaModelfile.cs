using LlmForge.Instruction;
using LlmForge.Text.Chat;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// The Ollama <c>Modelfile</c> written beside an exported GGUF file, so that <c>ollama create NAME -f Modelfile</c>
/// is the only step left: <c>FROM</c> the file, the prompt template of the model's kind (the book's Alpaca format for
/// a model instruction-tuned here, the chat format of a Qwen3 or Llama 3 tokenizer, the bare prompt otherwise, in
/// Ollama's Go template syntax), the tokens that end a turn as stops, and a context no longer than the model's.
/// </summary>
public static class OllamaModelfile
{
    /// <summary>Ollama's own default context; a model with a shorter one (GPT-2's 1,024) gets its own.</summary>
    const int DefaultContext = 4096;

    public static string Text(string ggufFileName, ILanguageModel model, ITokenizer tokenizer)
    {
        var lines = new List<string> { $"FROM ./{ggufFileName}", "", $"TEMPLATE \"\"\"{Template(model, tokenizer)}\"\"\"", "" };
        foreach (int id in tokenizer.StopIds) lines.Add($"PARAMETER stop \"{tokenizer.Decode([id])}\"");
        lines.Add($"PARAMETER num_ctx {Math.Min(model.ContextLength, DefaultContext)}");
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>The template of the model's prompt format, which Ollama fills with the request's messages.</summary>
    public static string Template(ILanguageModel model, ITokenizer tokenizer)
    {
        if (model.PromptFormat == "alpaca")
            return "{{ if .System }}{{ .System }}{{ else }}" + AlpacaPrompt.Preamble + "{{ end }}"
                + AlpacaPrompt.InstructionHeader + "{{ .Prompt }}" + AlpacaPrompt.ResponseHeader;
        return (tokenizer is HfBpeTokenizer hf ? ChatTemplate.For(hf) : null) switch
        {
            Qwen3ChatTemplate =>
                "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
                + "{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
            Llama3ChatTemplate =>
                "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
                + "{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n",
            _ => "{{ .Prompt }}",
        };
    }
}
