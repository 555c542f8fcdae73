using LlmForge.Server;

namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge serve</c>: the web page and the OpenAI- and Ollama-compatible APIs over one model, until Ctrl-C.</summary>
static class ServeCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        var config = ModelOptions.Config();
        var name = new Option<string>("--name") { Description = "the name clients ask for the model by (default: the model's directory or file name)" };
        var host = new Option<string>("--host") { Description = "the address to listen on: 127.0.0.1 (default, this machine only), 0.0.0.0 (every network)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "the port (default 8080; 0 picks a free one)", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string>("--api-key") { Description = "require Authorization: Bearer KEY on every API request (default: $LLMFORGE_API_KEY, or none)" };
        var maxQueue = new Option<int>("--max-queue") { Description = "requests that may wait beyond those generating; more get 429 (default 32)", DefaultValueFactory = _ => 32 };
        var maxBatch = new Option<int>("--max-batch") { Description = "completions decoded together, each step reading the weights once for all (default 8; 1: one at a time)", DefaultValueFactory = _ => 8 };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "the largest request body accepted; larger ones get 413 (default 1 MiB)", DefaultValueFactory = _ => 1 << 20 };
        var dtype = ModelOptions.DType("compute in fp32 (default) or keep bf16 / fp16 weights as they are");
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var command = new Command("serve", "Serve a model: a web page, an OpenAI-compatible API (/v1) and an Ollama-compatible API (/api).") { model, config };
        foreach (var option in new Option[] { name, host, port, apiKey, maxQueue, maxBatch, maxBody, dtype, device, threads }) command.Options.Add(option);
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            long bodyLimit = parse.GetValue(maxBody);
            if (bodyLimit < 1024) throw new BadInputException($"--max-body-bytes {bodyLimit}: expected at least 1024");
            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = parse.GetValue(apiKey) ?? NonEmpty(Environment.GetEnvironmentVariable("LLMFORGE_API_KEY")),
                MaxQueue = parse.GetValue(maxQueue),
                MaxBatch = parse.GetValue(maxBatch),
                MaxBodyBytes = bodyLimit,
            };
            options.Address(); // checked before the model is loaded
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            string spec = parse.GetValue(model)!;
            using var served = new ServedModel(ModelLoader.Load(spec, parse.GetValue(config), ModelOptions.ParseDType(parse.GetValue(dtype))),
                parse.GetValue(name) ?? ServedModel.NameFor(spec));
            ComputeDevice.MoveTo(served.Network, onDevice);
            WeightArena.Pack(served.Network);
            return Serve(served, options).GetAwaiter().GetResult();
        }));
        return command;
    }

    static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    static async Task<int> Serve(ServedModel served, ServerOptions options)
    {
        await using var server = await LlmServer.StartAsync(served, options, Console.Out);
        string url = server.Url.ToString().TrimEnd('/');
        string what = served.Kind switch
        {
            ModelKind.Classifier => $"a classifier ({string.Join(", ", served.Labels ?? [])})",
            ModelKind.Instruction => $"an instruction model ({served.PromptFormat} prompts)",
            _ => "a base model",
        };
        Console.Out.WriteLine($"llmforge serve: {served.Name}, {what}, {served.Parameters:N0} parameters, context {served.ContextLength:N0}, up to {options.MaxBatch} completion{(options.MaxBatch == 1 ? "" : "s")} decoded together");
        Console.Out.WriteLine($"llmforge serve: listening on {url} (page {url}/, OpenAI API {url}/v1, Ollama API {url}/api{(options.ApiKey != null ? ", API key required" : "")}); Ctrl-C stops");
        Console.Out.Flush();
        await server.WaitForShutdownAsync();
        Console.Out.WriteLine("llmforge serve: stopped");
        return Cli.ExitOk;
    }
}
