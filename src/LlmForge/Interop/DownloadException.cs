namespace LlmForge.Interop;

/// <summary>
/// A download that could not complete; the message names the URL and what to do instead.
/// <paramref name="transient"/>: a time-out, a broken connection or a server error, worth another try.
/// </summary>
public sealed class DownloadException(string message, bool transient = false) : Exception(message)
{
    public bool Transient { get; } = transient;

    /// <summary>The HTTP status the server answered with; null when no answer came (no network, a time-out, a broken transfer).</summary>
    public int? Status { get; init; }

    /// <summary>Hugging Face's <c>X-Error-Code</c> with that answer (<c>GatedRepo</c>, <c>RepoNotFound</c>, <c>RevisionNotFound</c>, <c>EntryNotFound</c>), if any.</summary>
    public string? ErrorCode { get; init; }
}
