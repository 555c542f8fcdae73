namespace LlmForge.Server;

/// <summary>What a served model is for: continuing text, answering instructions (a prompt format), or classifying.</summary>
public enum ModelKind { Base, Instruction, Classifier }

/// <summary>The one model a server shares among all requests, with the name clients ask for it by.</summary>
public sealed class ServedModel(LoadedModel loaded, string name) : IDisposable
{
    public LoadedModel Loaded => loaded;
    /// <summary>The network, of any family.</summary>
    public ILanguageModel Network => loaded.Network;

    /// <summary>A classifier's class names; null for a language model.</summary>
    public IReadOnlyList<string>? Labels => loaded.Labels;
    public ITokenizer Tokenizer => loaded.Tokenizer;
    public string Name => name;
    public int ContextLength => loaded.Network.ContextLength;

    /// <summary>When the model was made, as Unix seconds (its files' time), for <c>/v1/models</c>' <c>created</c>.</summary>
    public DateTimeOffset Created { get; } = File.Exists(loaded.Source) || Directory.Exists(loaded.Source)
        ? new DateTimeOffset(File.GetLastWriteTimeUtc(loaded.Source), TimeSpan.Zero) : DateTimeOffset.UtcNow;

    /// <summary>Every parameter the model holds, as it is (a classifier's head, LoRA adapters).</summary>
    public long Parameters { get; } = loaded.Network.Module.parameters().Sum(p => p.numel());

    public ModelKind Kind => loaded.Network switch
    {
        IClassifierModel { HasVocabularyHead: false } => ModelKind.Classifier,
        { PromptFormat: not null } => ModelKind.Instruction,
        _ when HasChatTemplate => ModelKind.Instruction,
        _ => ModelKind.Base,
    };

    /// <summary>The prompt format an instruction model was tuned on (<c>alpaca</c>), or its chat template's (<c>qwen3</c>, <c>llama3</c>).</summary>
    public string? PromptFormat => loaded.Network.PromptFormat ?? ChatTemplateFor(enableThinking: true)?.Name;

    /// <summary>Whether the tokenizer brings a chat template (Qwen3's ChatML, Llama 3's headers).</summary>
    public bool HasChatTemplate => ChatTemplateFor(enableThinking: true) != null;

    /// <summary>The tokenizer's chat template, with Qwen3's thinking on or off; null when it has none.</summary>
    public LlmForge.Text.Chat.ChatTemplate? ChatTemplateFor(bool enableThinking) =>
        loaded.Tokenizer is HfBpeTokenizer hf ? LlmForge.Text.Chat.ChatTemplate.For(hf, enableThinking) : null;

    public string KindName => Kind.ToString().ToLowerInvariant();

    /// <summary>
    /// The name of a model taken from where it was loaded: a run or checkpoint directory's name (a checkpoint
    /// inside a run is named after the run), or a file's name without extension.
    /// </summary>
    public static string NameFor(string source)
    {
        string path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(source));
        string name = Directory.Exists(path) ? Path.GetFileName(path) : Path.GetFileNameWithoutExtension(path);
        string? parent = Path.GetFileName(Path.GetDirectoryName(path));
        if (Directory.Exists(path) && (name.StartsWith("step-", StringComparison.Ordinal) || name is "best" or "final") && !string.IsNullOrEmpty(parent))
        {
            string? run = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(path)));
            name = parent == "checkpoints" && !string.IsNullOrEmpty(run) ? run : parent;
        }
        return name.Length > 0 ? name : "model";
    }

    /// <summary>Whether a request's <c>model</c> names this one; Ollama clients add a <c>:latest</c> tag, and no name means this one.</summary>
    public bool IsNamed(string? requested) =>
        string.IsNullOrEmpty(requested) || requested == name || requested == name + ":latest";

    /// <summary>404 for a request naming another model.</summary>
    public void Require(string? requested)
    {
        if (!IsNamed(requested))
            throw new ApiException(404, $"the model '{requested}' does not exist; this server serves '{name}'", "model", "model_not_found");
    }

    public void Dispose() => loaded.Dispose();
}
