using System.Text.Json.Nodes;

namespace LlmForge.Model;

/// <summary>What every family's class head shares: checking its labels, and its <c>output_head</c> entry in config.json.</summary>
public static class ClassHead
{
    /// <exception cref="ArgumentException">not one distinct, non-null label per output.</exception>
    public static void CheckLabels(IReadOnlyList<string>? labels, long outputs)
    {
        if (labels is null) return;
        if (labels.Count != outputs) throw new ArgumentException($"{labels.Count} labels for a head of {outputs} outputs");
        if (labels.Any(l => l is null)) throw new ArgumentException("a label is null");
        if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count) throw new ArgumentException("the labels are not distinct");
    }

    /// <summary><c>output_head</c>: size, bias, labels, and how texts are read.</summary>
    public static JsonObject Json(int size, bool bias, IReadOnlyList<string>? labels, (int PaddedLength, string Pooling)? input)
    {
        var head = new JsonObject { ["size"] = size, ["bias"] = bias };
        if (labels != null) head["labels"] = new JsonArray(labels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());
        if (input is var (paddedLength, pooling))
        {
            head["padded_length"] = paddedLength;
            head["pooling"] = pooling;
        }
        return head;
    }
}
