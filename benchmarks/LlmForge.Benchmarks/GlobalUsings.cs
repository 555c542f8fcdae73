// Namespaces nearly every file of this project uses, imported once.
global using LlmForge.Cli.Benchmarks;
global using LlmForge.Data;
global using LlmForge.Model;
global using LlmForge.Training;
global using LlmForge.Text;
global using LlmForge.Classification;
global using System.Diagnostics;
global using static TorchSharp.torch;
