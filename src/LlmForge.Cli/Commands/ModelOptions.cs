namespace LlmForge.Cli.Commands;

/// <summary>Options shared by commands that take a model.</summary>
static class ModelOptions
{
    public static Option<string> Model() => new("--model")
    {
        Description = "a model: Hugging Face GPT-2 directory or .safetensors file, LlmForge checkpoint directory, or PyTorch .pth state dict",
        Required = true,
    };

    /// <summary>Generation and next-token loss need a vocabulary head: a classifier is refused by name, pointing at classify.</summary>
    public static void RequireLanguageModel(LoadedModel loaded, string spec)
    {
        if (loaded.Network is IClassifierModel { HasVocabularyHead: false } classifier)
            throw new BadInputException($"--model {spec}: is a classifier ({classifier.OutputSize} outputs{(loaded.Labels is { } labels ? ": " + string.Join(", ", labels) : "")}), not a language model; use llmforge classify");
    }

    public static Option<string> Config() => new("--config")
    {
        Description = "the model's config JSON (book keys or Hugging Face keys), for a .pth file with none beside it",
    };

    public static Option<string> DType(string description) => new("--dtype")
    {
        Description = description,
        DefaultValueFactory = _ => "fp32",
    };

    /// <summary>fp32, fp16 or bf16 as a libtorch dtype.</summary>
    public static TorchSharp.torch.ScalarType ParseDType(string? name) => name switch
    {
        "fp32" or "float32" => TorchSharp.torch.ScalarType.Float32,
        "fp16" or "float16" => TorchSharp.torch.ScalarType.Float16,
        "bf16" or "bfloat16" => TorchSharp.torch.ScalarType.BFloat16,
        _ => throw new BadInputException($"--dtype {name}: expected fp32, fp16 or bf16"),
    };

    /// <summary>The <c>--dtype</c> of commands that train: fp32, or bf16 mixed precision.</summary>
    public static Option<string> TrainingDType() =>
        DType("fp32 (default), or bf16: mixed precision, with bf16 compute and fp32 master weights and optimiser state");

    /// <summary>"fp32" or "bf16" (a <see cref="LlmForge.Training.PretrainingOptions.Precision"/>); fp16 is refused.</summary>
    public static string ParseTrainingPrecision(string? name) => ParseDType(name) switch
    {
        TorchSharp.torch.ScalarType.BFloat16 => "bf16",
        TorchSharp.torch.ScalarType.Float16 => throw new BadInputException("--dtype fp16: training takes fp32 or bf16 (fp16 would need loss scaling)"),
        _ => "fp32",
    };

    /// <summary>bf16 training here: says so when the processor has to emulate bf16 products.</summary>
    public static void WarnIfBf16IsEmulated()
    {
        if (!LlmForge.CpuFeatures.HasBf16Instructions)
            Cli.Warn("this processor has no bf16 instructions (AVX-512 BF16 or AMX); libtorch emulates them, so bf16 mixed precision trains slower than fp32 here");
    }

    public static Option<int?> Threads() => new("--threads")
    {
        Description = $"libtorch threads, 1 to the {Environment.ProcessorCount} logical cores here (default: libtorch's choice)",
    };

    /// <summary>
    /// Sets libtorch's threads when <c>--threads</c> was given. More threads than logical cores only make them
    /// wait for each other (100,000 never finishes starting), so the range is 1 to the core count.
    /// </summary>
    public static void ApplyThreads(int? threads)
    {
        if (threads is not int n) return;
        int cores = Environment.ProcessorCount;
        if (n < 1 || n > cores)
            throw new BadInputException($"--threads {n}: expected 1 to {cores}, the logical cores this process may use");
        TorchSharp.torch.set_num_threads(n);
    }

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu (default), cuda, or auto (CUDA when this build of libtorch has it)",
        DefaultValueFactory = _ => "cpu",
    };
}
