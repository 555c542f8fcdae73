namespace LlmForge.Tests;

/// <summary>
/// Tests that compare two training runs for exact equality: dropout draws from libtorch's one global
/// generator, so no other test may draw from it meanwhile. xunit runs this collection on its own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "global torch generator";
}
