namespace LlmForge.Model;

/// <summary>
/// The book's <c>nn.Sequential(Linear, GELU, Linear)</c> inside <see cref="FeedForward"/>, with the same
/// submodule names (<c>0</c>, <c>1</c>, <c>2</c>, so <c>ff.layers.0.weight</c> stays), but with its two
/// linear layers in slots that a wrapper can take: TorchSharp's Sequential cannot swap a member.
/// </summary>
public sealed class FeedForwardLayers : nn.Module<Tensor, Tensor>, ILinearSlots
{
    const string Up = "0", Down = "2";
    nn.Module<Tensor, Tensor> _up, _down;
    readonly Gelu _gelu = new();

    public FeedForwardLayers(int embDim, int hiddenDim) : base("Sequential")
    {
        _up = nn.Linear(embDim, hiddenDim);
        _down = nn.Linear(hiddenDim, embDim);
        register_module(Up, _up);
        register_module("1", _gelu);
        register_module(Down, _down);
    }

    // Registered by hand above under the book's names. TorchSharp's RegisterComponents (which register_module
    // calls on every new submodule) would also register the fields under their own names (_up, _down, _gelu);
    // once a wrapper re-registers "0" after them, the parameters would be named ff.layers._up.weight.
    protected override void RegisterComponents() { }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return DecodeLinear.Forward(_down, _gelu.forward(DecodeLinear.Forward(_up, x))).MoveToOuterDisposeScope();
    }

    /// <summary>The widening and narrowing layers, for a decoding step on raw memory (<see cref="GptDecodeStep"/>).</summary>
    internal (nn.Module<Tensor, Tensor> Up, nn.Module<Tensor, Tensor> Down) Parts => (_up, _down);

    public IReadOnlyList<string> LinearSlots { get; } = [Up, Down];

    public nn.Module<Tensor, Tensor> GetSlot(string name) => name switch
    {
        Up => _up,
        Down => _down,
        _ => throw new ArgumentException($"no linear slot '{name}' in the feed-forward layers"),
    };

    public void SetSlot(string name, nn.Module<Tensor, Tensor> module)
    {
        if (name == Up) _up = module;
        else if (name == Down) _down = module;
        else throw new ArgumentException($"no linear slot '{name}' in the feed-forward layers");
        LinearWrapping.Reregister(this, name, module);
    }
}
