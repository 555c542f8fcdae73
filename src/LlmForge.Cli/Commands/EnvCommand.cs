using System.Reflection;
using TorchSharp;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge env</c>: proves libtorch loads here and says what it will compute on.</summary>
static class EnvCommand
{
    public static Command Create()
    {
        var json = TextOptions.Json();
        var command = new Command("env", "Show the versions, threads and devices LlmForge runs with (loads libtorch).") { json };
        command.SetAction(parse => Cli.Run(() =>
        {
            // A tiny computation: the first torch call is where a native library that cannot load fails.
            using var product = torch.matmul(torch.ones(2, 3), torch.ones(3, 2));
            bool computes = product.sum().item<float>() == 12f;
            var report = new
            {
                llmforge = typeof(LlmForge.BadInputException).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
                torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(),
                libtorch_computes = computes,
                threads = torch.get_num_threads(),
                cuda_available = torch.cuda.is_available(),
                allocator_tuned = LlmForge.NativeAllocator.Tuned,
                bf16_instructions = LlmForge.CpuFeatures.HasBf16Instructions,
                os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                dotnet = Environment.Version.ToString(),
            };
            if (parse.GetValue(json)) Cli.WriteJson(report);
            else foreach (var property in report.GetType().GetProperties()) Console.Out.WriteLine($"{property.Name,-18} {property.GetValue(report)}");
            return computes ? Cli.ExitOk : Cli.ExitFailure;
        }));
        return command;
    }
}
