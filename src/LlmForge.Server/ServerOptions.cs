using System.Net;

namespace LlmForge.Server;

/// <summary>How <c>llmforge serve</c> listens and whom it lets in.</summary>
public sealed record ServerOptions
{
    /// <summary>An address to bind to: loopback by default, so nothing outside this machine can reach the model.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port (the address printed at start says which).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every API request must carry <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Requests that may wait for the model beyond those running; more are refused with 429.</summary>
    public int MaxQueue { get; init; } = 32;

    /// <summary>Completions decoded together, each step reading the weights once for all of them; 1 runs one at a time.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>The largest request body accepted (413 above it).</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>The address to listen on; <c>localhost</c> is loopback.</summary>
    /// <exception cref="BadInputException">the host or port is not one.</exception>
    public IPAddress Address()
    {
        if (Port is < 0 or > 65535) throw new BadInputException($"--port {Port}: expected 0 (any free port) to 65535");
        if (MaxQueue < 0) throw new BadInputException($"--max-queue {MaxQueue}: expected 0 or more requests waiting");
        if (MaxBatch is < 1 or > DecodeLinear.MaxRows)
            throw new BadInputException($"--max-batch {MaxBatch}: expected 1 (one generation at a time) to {DecodeLinear.MaxRows} generations decoded together");
        if (ApiKey != null && (ApiKey.Length == 0 || ApiKey.Any(c => c is < '!' or > '~')))
            throw new BadInputException("the API key (--api-key or LLMFORGE_API_KEY): expected printable ASCII without spaces");
        if (Host == "localhost") return IPAddress.Loopback;
        return IPAddress.TryParse(Host, out var address) ? address
            : throw new BadInputException($"--host {Host}: expected an IP address to listen on, such as 127.0.0.1 (this machine only), 0.0.0.0 (every network) or ::1");
    }
}
