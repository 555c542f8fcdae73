using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmForge.Server;

namespace LlmForge.Cli.Benchmarks;

/// <summary>What <see cref="ServeBenchmark"/> measured (the JSON of <c>llmforge bench serve</c>).</summary>
public sealed record ServeBenchmarkResult(
    int Requests, int Concurrency, int Failures, string? FirstFailure,
    double LatencyP50Ms, double LatencyP99Ms, double FirstTokenP50Ms, double FirstTokenP99Ms,
    long CompletionTokens, double Seconds, double TokensPerSecond, double DirectTokensPerSecond)
{
    /// <summary>The served rate against the library generating the same requests one after another, without HTTP.</summary>
    public double Ratio => TokensPerSecond / DirectTokensPerSecond;
}

/// <summary>
/// Requests from concurrent clients against a real server on loopback: each streams a greedy completion from
/// <c>/v1/completions</c> and times its first piece and its end. The baseline is the same generation called
/// directly, in the same run.
/// </summary>
public static class ServeBenchmark
{
    /// <param name="maxBatch">the server's <c>--max-batch</c>: completions decoded together.</param>
    public static async Task<ServeBenchmarkResult> RunAsync(ServedModel served, int requests, int concurrency, int maxTokens, int maxBatch, Action<int, int>? progress = null)
    {
        string Prompt(int i) => $"Request {i}: every effort moves you";
        double direct = DirectRate(served, Math.Min(requests, 16), maxTokens, Prompt);

        await using var server = await LlmServer.StartAsync(served, new ServerOptions { Port = 0, MaxQueue = Math.Max(32, concurrency), MaxBatch = maxBatch }, TextWriter.Null);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = concurrency })
        {
            BaseAddress = server.Url,
            Timeout = TimeSpan.FromMinutes(10),
        };
        var latencies = new List<double>();
        var firstTokens = new List<double>();
        long tokens = 0;
        int failures = 0, next = -1, done = 0;
        string? firstFailure = null;
        var clock = Stopwatch.StartNew();
        async Task Client()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var outcome = await OneRequestAsync(http, Prompt(i), maxTokens);
                lock (latencies)
                {
                    if (outcome.Error is string error)
                    {
                        failures++;
                        firstFailure ??= error;
                    }
                    else
                    {
                        latencies.Add(outcome.LatencyMs);
                        firstTokens.Add(outcome.FirstTokenMs);
                        tokens += outcome.Tokens;
                    }
                    progress?.Invoke(++done, requests);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Client()));
        double seconds = clock.Elapsed.TotalSeconds;
        return new ServeBenchmarkResult(requests, concurrency, failures, firstFailure,
            Percentile(latencies, 50), Percentile(latencies, 99), Percentile(firstTokens, 50), Percentile(firstTokens, 99),
            tokens, seconds, tokens / seconds, direct);
    }

    sealed record Outcome(double LatencyMs, double FirstTokenMs, int Tokens, string? Error);

    /// <summary>One streamed request: the time to its first piece of text, to <c>[DONE]</c>, and the tokens its usage counts.</summary>
    static async Task<Outcome> OneRequestAsync(HttpClient http, string prompt, int maxTokens)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            string body = new JsonObject
            {
                ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true,
                ["stream_options"] = new JsonObject { ["include_usage"] = true },
            }.ToJsonString();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return new Outcome(0, 0, 0, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            double firstToken = -1;
            int tokens = -1;
            while (await reader.ReadLineAsync() is string line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                string data = line["data: ".Length..];
                if (data == "[DONE]") return tokens < 0 ? new Outcome(0, 0, 0, "no usage before [DONE]")
                    : new Outcome(clock.Elapsed.TotalMilliseconds, firstToken < 0 ? clock.Elapsed.TotalMilliseconds : firstToken, tokens, null);
                var chunk = JsonNode.Parse(data)!;
                if (chunk["usage"] is JsonObject usage) tokens = (int)usage["completion_tokens"]!;
                else if (firstToken < 0 && ((string?)chunk["choices"]?[0]?["text"])?.Length > 0) firstToken = clock.Elapsed.TotalMilliseconds;
            }
            return new Outcome(0, 0, 0, "the stream ended without [DONE]");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new Outcome(0, 0, 0, e.Message);
        }
    }

    /// <summary>Tokens per second of the same greedy generations in this process, one after another, once warm.</summary>
    static double DirectRate(ServedModel served, int count, int maxTokens, Func<int, string> prompt)
    {
        var options = new GenerationOptions { MaxNewTokens = maxTokens, StopTokenId = served.Tokenizer.EndOfTextId };
        int Run(int i) => TextGenerator.Generate(served.Network, served.Tokenizer.Encode(prompt(i)), options).Count();
        Enumerable.Range(0, count).Sum(Run); // to warm up
        // The median of three passes: a machine shared with other work gives single passes 10x apart.
        var rates = Enumerable.Range(0, 3).Select(_ =>
        {
            var clock = Stopwatch.StartNew();
            long tokens = Enumerable.Range(0, count).Sum(Run);
            return tokens / clock.Elapsed.TotalSeconds;
        }).ToArray();
        return Timing.Median(rates);
    }

    static double Percentile(List<double> values, double percent)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        // Nearest rank: the smallest value with at least this share of values at or below it.
        int rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
