global using System.Text.Json;
global using System.Text.Json.Nodes;
global using LlmForge.Generation;
global using LlmForge.Interop;
global using LlmForge.Model;
global using LlmForge.Text;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.AspNetCore.Http;
global using static TorchSharp.torch;
