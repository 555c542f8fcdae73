using System.Diagnostics;
using System.Reflection;

namespace LlmForge.Cli;

/// <summary>
/// Whether this llmforge was compiled in the Debug or Release configuration. A Debug build runs the C# code
/// without JIT optimisation, so benchmark figures from it understate a Release build's.
/// </summary>
static class BuildKind
{
    /// <summary>"debug" when the command line or the library was compiled without optimisation, else "release".</summary>
    public static string Name { get; } =
        IsUnoptimised(typeof(BuildKind).Assembly) || IsUnoptimised(typeof(LlmForge.Model.GptModel).Assembly) ? "debug" : "release";

    public static bool IsDebug => Name == "debug";

    static bool IsUnoptimised(Assembly assembly) => assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true;
}
