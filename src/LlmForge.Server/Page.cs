using System.Reflection;

namespace LlmForge.Server;

/// <summary>
/// The web page (<c>GET /</c>, <c>/app.js</c>, <c>/style.css</c>): plain files embedded in this assembly, served as they
/// are, with no build step and nothing fetched from elsewhere (the machines it runs on may be offline).
/// </summary>
public static class Page
{
    static readonly Dictionary<string, (string File, string ContentType)> Files = new()
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["/style.css"] = ("style.css", "text/css; charset=utf-8"),
    };

    public static void Map(WebApplication app)
    {
        foreach (var (path, (file, contentType)) in Files)
        {
            byte[] content = Read(file);
            app.MapGet(path, () => Results.Bytes(content, contentType));
        }
    }

    static byte[] Read(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("wwwroot/" + file)
            ?? throw new InvalidOperationException($"the page's {file} is not embedded in LlmForge.Server (src/LlmForge.Server/wwwroot/)");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
