// Namespaces nearly every file of this project uses, imported once.
global using TorchSharp;
global using static TorchSharp.torch;
global using LlmForge.Model;
global using LlmForge.Text;
global using LlmForge.Data;
global using LlmForge.Interop;
global using LlmForge.Generation;
global using LlmForge.Model.Llama;
