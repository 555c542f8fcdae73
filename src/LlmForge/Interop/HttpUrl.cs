namespace LlmForge.Interop;

/// <summary>
/// The only URLs a download may use: absolute http or https with a host. Anything else (a bare word,
/// a path, file://, ftp://) is refused before any request, and a redirect to one is refused too, so a
/// server cannot make the downloader read a local file.
/// </summary>
public static class HttpUrl
{
    public static bool IsHttp(Uri uri) =>
        uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;

    /// <summary><paramref name="text"/> as an http(s) URL; bad input naming <paramref name="what"/> (an option or variable) otherwise.</summary>
    public static Uri Parse(string text, string what)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && IsHttp(uri)) return uri;
        throw new BadInputException($"{what} '{text}': expected an http:// or https:// URL");
    }
}
