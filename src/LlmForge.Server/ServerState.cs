namespace LlmForge.Server;

/// <summary>What every request shares: the model, the queue in front of it, and the server's own stop.</summary>
public sealed class ServerState(ServedModel model, GenerationQueue queue, CancellationToken stopping)
{
    public ServedModel Model => model;
    public GenerationQueue Queue => queue;

    /// <summary>Cancelled when the server begins to stop (Ctrl-C): running generations end early.</summary>
    public CancellationToken Stopping => stopping;
}
