namespace LlmForge.Classification;

/// <summary>
/// The class names a classifier predicts, sorted ordinally so that class indices do not depend on the
/// order of the file (ham 0, spam 1, as the book).
/// </summary>
public sealed class ClassLabels
{
    readonly Dictionary<string, int> _index;

    /// <summary>Classes named <paramref name="names"/> (in any order, duplicates merged); fewer than two is an <see cref="ArgumentException"/>.</summary>
    public ClassLabels(IEnumerable<string> names)
    {
        Names = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (Names.Count < 2) throw new ArgumentException($"a classifier needs two or more classes, got {Names.Count}");
        _index = Names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
    }

    public IReadOnlyList<string> Names { get; }

    public int Count => Names.Count;

    /// <summary>The class index of <paramref name="label"/>.</summary>
    public int IndexOf(string label) =>
        _index.TryGetValue(label, out int i) ? i : throw new ArgumentException($"'{label}' is not one of the classes {string.Join(", ", Names)}");

    /// <summary>The labels found in <paramref name="files"/> together; a single label is a <see cref="BadInputException"/>.</summary>
    public static ClassLabels Of(params LabelledText[] files)
    {
        var names = files.SelectMany(f => f.Examples).Select(e => e.Label).Distinct(StringComparer.Ordinal).ToArray();
        if (names.Length < 2)
        {
            string where = string.Join(", ", files.Select(f => f.Path).Distinct());
            throw new BadInputException($"{where}: only one label, '{names[0]}'; a classifier needs two or more");
        }
        return new ClassLabels(names);
    }
}
