// Namespaces nearly every file of this project uses, imported once.
global using LlmForge.Interop;
global using LlmForge.Training;
global using LlmForge.Model;
global using LlmForge.Text;
global using LlmForge.Data;
global using LlmForge.Classification;
global using System.Text.Json;
global using System.Text.Json.Nodes;
global using TorchSharp;
global using static TorchSharp.torch;
