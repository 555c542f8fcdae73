namespace LlmForge.Server;

/// <summary>
/// A request's JSON object, read with the body limit. Every field is read by name and type, with a message that
/// names the field; fields the server does not know are ignored, as OpenAI ignores them.
/// </summary>
/// <param name="path">how fields inside a nested object are named in messages, such as <c>options.</c>.</param>
public sealed class RequestBody(JsonObject json, string path = "")
{
    public static async Task<RequestBody> ReadAsync(HttpRequest request, CancellationToken cancel)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }, cancellationToken: cancel);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            long? limit = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            throw new ApiException(413, $"the request body is over the limit of {limit:N0} bytes", null, "request_too_large");
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is long line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            throw new ApiException(400, $"the request body is not valid JSON{where}", null, "invalid_json");
        }
        if (node is not JsonObject json)
            throw new ApiException(400, $"the request body must be a JSON object, got {Describe(node)}", null, "invalid_json");
        return new RequestBody(json);
    }

    public JsonNode? this[string name] => json[name];

    /// <summary>A field's name as a message gives it: <c>options.num_predict</c> for a field of <c>options</c>.</summary>
    public string Param(string name) => path + name;

    public bool Has(string name) => json[name] is not null;

    public string? String(string name) => json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw ApiException.BadParameter(Param(name), $"expected a string, got {Describe(other)}"),
    };

    public bool? Bool(string name) => json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw ApiException.BadParameter(Param(name), $"expected true or false, got {Describe(other)}"),
    };

    public double? Number(string name) => Number(json, name, Param(name));

    public long? Integer(string name) => Integer(json, name, Param(name));

    public RequestBody? Object(string name) => json[name] switch
    {
        null => null,
        JsonObject o => new RequestBody(o, Param(name) + "."),
        var other => throw ApiException.BadParameter(Param(name), $"expected an object, got {Describe(other)}"),
    };

    static double? Number(JsonObject json, string name, string param) => json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        var other => throw ApiException.BadParameter(param, $"expected a number, got {Describe(other)}"),
    };

    static long? Integer(JsonObject json, string name, string param)
    {
        double? value = Number(json, name, param);
        if (value is double d && (d != Math.Floor(d) || Math.Abs(d) > 1e15))
            throw ApiException.BadParameter(param, $"expected a whole number, got {d}");
        return (long?)value;
    }

    /// <summary>How a JSON value reads in a message: its kind, and a short value.</summary>
    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{Shorten(v.GetValue<string>())}\"",
            JsonValueKind.Number => $"the number {v.ToJsonString(JsonStream.Options)}",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            var kind => kind.ToString().ToLowerInvariant(),
        },
        _ => "an unexpected value",
    };

    static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
