// Namespaces nearly every file of this project uses, imported once.
global using System.CommandLine;
global using LlmForge.Interop;
global using LlmForge.Training;
global using LlmForge.Model;
global using LlmForge.Data;
global using LlmForge.Classification;
global using LlmForge.Generation;
global using LlmForge.Model.Llama;
global using LlmForge.Interop.Gguf;
