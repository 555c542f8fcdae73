namespace LlmForge.Evaluation.Judge;

/// <summary>The chat protocol a judge server speaks.</summary>
public enum JudgeApi
{
    /// <summary>Ollama's <c>POST /api/chat</c>.</summary>
    Ollama,

    /// <summary>OpenAI's <c>POST /v1/chat/completions</c>, which many servers (vLLM, llama.cpp, Ollama too) also speak.</summary>
    OpenAI,
}

/// <summary>Names of <see cref="JudgeApi"/> as the command line writes them.</summary>
public static class JudgeApiNames
{
    /// <summary><paramref name="name"/> (ollama or openai, any case) as a <see cref="JudgeApi"/>; bad input otherwise.</summary>
    public static JudgeApi Parse(string? name) => name?.ToLowerInvariant() switch
    {
        "ollama" => JudgeApi.Ollama,
        "openai" => JudgeApi.OpenAI,
        _ => throw new BadInputException($"--api {name}: expected ollama or openai"),
    };
}
