using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace LlmForge.Evaluation.Judge;

/// <summary>
/// Asks a judge model one question at a time over HTTP, in Ollama's or OpenAI's chat protocol, with temperature 0
/// and a fixed seed. Transient failures (a refused or timed-out connection, no reply in time, a 5xx, 408 or 429,
/// a reply cut short) are tried again up to <see cref="Attempts"/> times in all, waiting
/// <see cref="Backoff"/>, then twice as long each time. Connection failures stop being retried once
/// <see cref="ConnectWindow"/> has passed, so a server that is not there is reported within about ten seconds;
/// one that is only starting up gets those seconds to come up.
/// </summary>
public sealed class JudgeClient : IDisposable
{
    /// <summary>How long one try may wait for a TCP connection.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2.5);

    /// <summary>The default time one try may wait for the answer: a large judge on a CPU, or one still loading, is slow.</summary>
    public static readonly TimeSpan DefaultReplyTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The longest wait a server's Retry-After may ask for before the next try.</summary>
    static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(20);

    /// <summary>A reply is one small JSON object; a server sending more is not a chat server.</summary>
    const int MaxReplyBytes = 16 << 20;

    static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    readonly HttpClient _http;
    readonly JudgeEndpoint _endpoint;
    readonly string _model;
    readonly int _seed;
    readonly string? _apiKey;

    /// <param name="apiKey">sent as <c>Authorization: Bearer KEY</c> when given.</param>
    public JudgeClient(JudgeEndpoint endpoint, string model, int seed, string? apiKey = null)
    {
        if (string.IsNullOrWhiteSpace(model)) throw new BadInputException("--judge-model is empty, expected the judge model's name");
        // A header value must be plain ASCII; a key pasted with a space or newline would be sent wrong.
        if (apiKey != null && (apiKey.Length == 0 || apiKey.Any(c => c is < '!' or > '~')))
            throw new BadInputException("the API key (--api-key, LLMFORGE_JUDGE_API_KEY or OPENAI_API_KEY): expected printable ASCII without spaces");
        _endpoint = endpoint;
        _model = model;
        _seed = seed;
        _apiKey = apiKey;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,
            AllowAutoRedirect = false, // a redirected POST is turned into a GET; better to say the URL is not the chat URL
            // A judge on this machine (Ollama's usual place) is asked directly: .NET would send even a localhost
            // request through the proxy in http_proxy, which cannot reach it.
            UseProxy = !endpoint.ChatUrl.IsLoopback,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // each try has its own timer (ReplyTimeout)
            MaxResponseContentBufferSize = MaxReplyBytes,
        };
    }

    public JudgeEndpoint Endpoint => _endpoint;

    /// <summary>How long one try may wait for the whole answer.</summary>
    public TimeSpan ReplyTimeout { get; init; } = DefaultReplyTimeout;

    /// <summary>Tries after the first unless told otherwise: with the doubling waits, 7.5 s for a server to recover.</summary>
    public const int DefaultRetries = 4;

    /// <summary>Tries in all for one question.</summary>
    public int Attempts { get; init; } = DefaultRetries + 1;

    /// <summary>The wait before the second try; it doubles for each further one.</summary>
    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>After this long since a question's first try, a failed connection is not tried again.</summary>
    public TimeSpan ConnectWindow { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>Called with one line when a try failed and another follows.</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>The judge's answer to <paramref name="prompt"/> (null when the server answered without text); a <see cref="JudgeException"/> when it cannot be had.</summary>
    public async Task<string?> AskAsync(string prompt, CancellationToken cancellation = default)
    {
        var request = _endpoint.Api == JudgeApi.Ollama
            ? OllamaChat.Request(_model, prompt, _seed)
            : OpenAIChat.Request(_model, prompt, _seed);
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(request);
        var clock = Stopwatch.StartNew();
        for (int attempt = 1; ; attempt++)
        {
            var outcome = await TryOnceAsync(body, cancellation);
            if (outcome.Failure == null) return outcome.Answer;
            var wait = outcome.RetryAfter ?? Backoff * Math.Pow(2, attempt - 1);
            bool last = attempt >= Attempts || (outcome.ConnectionFailed && clock.Elapsed + wait >= ConnectWindow);
            if (last)
            {
                string tries = attempt == 1 ? "" : $" ({attempt} tries in {Seconds(clock.Elapsed)})";
                throw new JudgeException($"{_endpoint.ChatUrl}: {outcome.Failure}{tries}{outcome.Hint}");
            }
            Warning?.Invoke($"{_endpoint.ChatUrl}: {outcome.Failure}; trying again in {Seconds(wait)}");
            await Task.Delay(wait, cancellation);
        }
    }

    /// <summary>What one try came to: an answer, or a failure worth another try.</summary>
    /// <param name="Hint">what to check, added when the failure is final.</param>
    readonly record struct Outcome(string? Answer, string? Failure, bool ConnectionFailed = false, TimeSpan? RetryAfter = null, string Hint = "");

    async Task<Outcome> TryOnceAsync(byte[] body, CancellationToken cancellation)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timer.CancelAfter(ReplyTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint.ChatUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Json;
        if (_apiKey != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        try
        {
            using var response = await _http.SendAsync(request, timer.Token);
            string text = await response.Content.ReadAsStringAsync(timer.Token);
            if (response.IsSuccessStatusCode) return Read(text);
            string status = $"HTTP {(int)response.StatusCode}{ServerMessage(text)}";
            if (IsTransient(response.StatusCode)) return new Outcome(null, status, RetryAfter: RetryAfter(response));
            throw new JudgeException($"{_endpoint.ChatUrl}: {status}{StatusHint(response.StatusCode)}");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            // Either this try's timer, or the handler's connect timeout (it cancels with a TimeoutException inside).
            return timer.IsCancellationRequested
                ? new Outcome(null, $"no answer within {Seconds(ReplyTimeout)}")
                : new Outcome(null, $"no connection within {Seconds(ConnectTimeout)}", ConnectionFailed: true, Hint: ServerHint());
        }
        catch (HttpRequestException e)
        {
            return e.HttpRequestError switch
            {
                HttpRequestError.ConnectionError => new Outcome(null, $"cannot connect: {Reason(e)}", ConnectionFailed: true, Hint: ServerHint()),
                // A misspelt host or a certificate that does not match: trying again changes nothing.
                HttpRequestError.NameResolutionError => throw new JudgeException($"{_endpoint.ChatUrl}: the host name does not resolve ({Reason(e)}); check --endpoint"),
                HttpRequestError.SecureConnectionError => throw new JudgeException($"{_endpoint.ChatUrl}: the secure connection failed ({Reason(e)})"),
                HttpRequestError.ConfigurationLimitExceeded => throw new JudgeException($"{_endpoint.ChatUrl}: the reply is larger than {MaxReplyBytes >> 20} MB; is this {_endpoint.ProtocolName} server?"),
                // The connection broke or the reply was cut short.
                _ => new Outcome(null, $"the request failed: {Reason(e)}"),
            };
        }
    }

    /// <summary>
    /// The answer in a successful reply. A reply that is not the protocol's JSON (a web page, another API) would
    /// be the same on every try, so it ends the run at once; a reply cut short fails in the transfer and is retried.
    /// </summary>
    Outcome Read(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            bool ok = _endpoint.Api == JudgeApi.Ollama
                ? OllamaChat.TryReadAnswer(document.RootElement, out string? answer)
                : OpenAIChat.TryReadAnswer(document.RootElement, out answer);
            if (ok) return new Outcome(answer, null);
        }
        catch (JsonException)
        {
            // handled below, as any other reply of the wrong shape
        }
        string expected = _endpoint.Api == JudgeApi.Ollama ? "message.content" : "choices[0].message.content";
        throw new JudgeException($"{_endpoint.ChatUrl}: the reply is not {_endpoint.ProtocolName} response (expected JSON with {expected}): {Snippet(text)}; check --endpoint and --api");
    }

    static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        TimeSpan? wait = header?.Delta ?? (header?.Date is DateTimeOffset date ? date - DateTimeOffset.UtcNow : null);
        if (wait is not TimeSpan value) return null;
        return value < TimeSpan.Zero ? TimeSpan.Zero : value > MaxRetryAfter ? MaxRetryAfter : value;
    }

    /// <summary>The error message servers put in their JSON ({"error": "..."} from Ollama, {"error": {"message": "..."}} from OpenAI), or the start of the body.</summary>
    static string ServerMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return "";
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.String) return ": " + Snippet(error.GetString()!, quote: false);
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                    return ": " + Snippet(message.GetString()!, quote: false);
            }
        }
        catch (JsonException)
        {
            // not JSON: show the text
        }
        return ": " + Snippet(body);
    }

    string StatusHint(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => "; check --api-key",
        HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed => "; check --endpoint, --api and --judge-model",
        _ => "",
    };

    string ServerHint() => _endpoint.Api == JudgeApi.Ollama
        ? "; is Ollama running there (ollama serve)?"
        : "; is the server running at that address?";

    static string Reason(HttpRequestException e)
    {
        // The innermost message says it plainly ("Connection refused"); the outer one repeats the address.
        Exception inner = e;
        while (inner.InnerException != null) inner = inner.InnerException;
        return Snippet(inner.Message, quote: false);
    }

    /// <summary>Text on one line, at most 120 characters.</summary>
    static string Snippet(string text, bool quote = true)
    {
        string line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (line.Length > 120) line = line[..117] + "...";
        return quote ? "\"" + line + "\"" : line;
    }

    static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    public void Dispose() => _http.Dispose();
}
