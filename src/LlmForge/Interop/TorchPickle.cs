using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace LlmForge.Interop;

/// <summary>
/// Reads the pickle of a <c>torch.save</c> archive (its data.pkl) without running anything: a small
/// stack machine for the opcodes torch.save emits, building only None, booleans, numbers, strings,
/// tuples, lists, dicts and references to tensors. The only Python names it accepts are the few a state
/// dict uses (OrderedDict, the tensor-rebuilding functions, the storage types); any other name, such as
/// a model class or os.system, is refused where it appears, so a file cannot make it build anything else.
/// </summary>
sealed class TorchPickle
{
    /// <summary>A storage: the archive entry data/KEY holding <paramref name="Elements"/> values of <paramref name="DType"/>.</summary>
    public sealed record Storage(ScalarType DType, string Key, long Elements);

    /// <summary>A tensor as torch stores it: a view of a storage, from an element offset with a size and strides.</summary>
    public sealed record TensorView(Storage Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>A Python name (module.name), as GLOBAL pushes it.</summary>
    sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    /// <summary>A Python dict or OrderedDict: its items in insertion order, a later value for a key replacing the earlier.</summary>
    public sealed class Dict
    {
        readonly Dictionary<object, int> _index = [];

        public List<KeyValuePair<object, object?>> Items { get; } = [];

        public void Set(object key, object? value)
        {
            if (_index.TryGetValue(key, out int i))
            {
                Items[i] = new(key, value);
                return;
            }
            _index[key] = Items.Count;
            Items.Add(new(key, value));
        }
    }

    readonly byte[] _data;
    readonly string _path;
    readonly List<object?> _stack = [];
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = [];
    int _position;

    TorchPickle(byte[] data, string path)
    {
        _data = data;
        _path = path;
    }

    /// <summary>The object data.pkl of <paramref name="path"/> describes.</summary>
    public static object? Load(byte[] data, string path) => new TorchPickle(data, path).Run();

    object? Run()
    {
        while (true)
        {
            int at = _position;
            byte opcode = Byte();
            switch (opcode)
            {
                case 0x80: Byte(); break; // PROTO: any version; unknown opcodes are refused below
                case 0x95: Bytes(8); break; // FRAME: a length hint
                case (byte)'.': // STOP
                    if (_stack.Count != 1) throw Bad($"the pickle ends with {_stack.Count} objects on its stack, expected 1");
                    return Pop();
                case (byte)'(': _marks.Push(_stack.Count); break; // MARK
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'K': Push((long)Byte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break; // BININT
                case 0x8a: Push(Long(Byte())); break; // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                case (byte)'X': Push(Text(Length(4))); break; // BINUNICODE
                case 0x8c: Push(Text(Byte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(Text(Length(8))); break; // BINUNICODE8
                case (byte)'U': Push(Latin1(Byte())); break; // SHORT_BINSTRING (Python 2 str)
                case (byte)'T': Push(Latin1(Length(4))); break; // BINSTRING
                case (byte)'C': Push(Bytes(Byte()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': Push(Bytes(Length(4)).ToArray()); break; // BINBYTES
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case 0x85: Push(Tuple(1)); break; // TUPLE1
                case 0x86: Push(Tuple(2)); break; // TUPLE2
                case 0x87: Push(Tuple(3)); break; // TUPLE3
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'a': AsList(Peek2(1), "APPEND").Add(Pop()); break; // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek(), "APPENDS").AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new Dict()); break; // EMPTY_DICT
                case (byte)'d': { var dict = new Dict(); SetItems(dict, PopMark()); Push(dict); break; } // DICT
                case (byte)'s': { var value = Pop(); var key = Pop(); SetItems(AsDict(Peek(), "SETITEM"), [key, value]); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), "SETITEMS"), items); break; } // SETITEMS
                case (byte)'q': _memo[Byte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[Length(4)] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(Recall(Byte())); break; // BINGET
                case (byte)'j': Push(Recall(Length(4))); break; // LONG_BINGET
                case (byte)'c': Push(Name(Line(), Line())); break; // GLOBAL
                case 0x93: { var name = Pop(); var module = Pop(); Push(Name(module as string, name as string)); break; } // STACK_GLOBAL
                case (byte)'Q': Push(PersistentStorage(Pop())); break; // BINPERSID
                case (byte)'R': { var args = Pop(); Push(Call(Pop(), args)); break; } // REDUCE
                case (byte)'b': Build(Pop(), Peek()); break; // BUILD
                default:
                    throw Bad($"pickle opcode 0x{opcode:x2} at byte {at} is not one torch.save writes for a state dict");
            }
        }
    }

    /// <summary>The Python names a state dict needs; any other is refused before anything is built from it.</summary>
    Global Name(string? module, string? name)
    {
        if (module is null || name is null) throw Bad("a pickle global is not a pair of names");
        var global = new Global(module, name);
        bool allowed = (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor" or "_rebuild_parameter") => true,
            ("torch", _) => StorageDType(name) != null,
            _ => false,
        };
        if (!allowed)
            throw Bad($"the pickle refers to the Python object '{Shown(global.ToString())}', which a state dict does not use; "
                + "only tensors in a dict are read (save them with torch.save(model.state_dict(), path))");
        return global;
    }

    /// <summary>What torch.save writes in place of a storage: ('storage', torch.XStorage, key, location, elements).</summary>
    object PersistentStorage(object? id)
    {
        if (id is object?[] { Length: 5 } t && t[0] is "storage" && t[1] is Global { Module: "torch" } type
            && t[2] is string key && t[4] is long elements && elements >= 0)
            return new Storage(StorageDType(type.Name)!.Value, key, elements);
        throw Bad("a persistent id is not a torch storage ('storage', type, key, location, elements)");
    }

    object? Call(object? callable, object? args)
    {
        if (callable is not Global global || args is not object?[] a) throw Bad("REDUCE applies something other than a known function to a tuple");
        switch (global.Name)
        {
            case "OrderedDict" when a.Length == 0:
                return new Dict();
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            case "_rebuild_tensor_v2" when a.Length is 6 or 7:
            case "_rebuild_tensor" when a.Length == 4:
                if (a[0] is Storage storage && a[1] is long offset && Longs(a[2]) is { } size && Longs(a[3]) is { } stride)
                    return new TensorView(storage, offset, size, stride);
                break;
            // _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its tensor here.
            case "_rebuild_parameter" when a.Length == 3 && a[0] is TensorView:
                return a[0];
        }
        throw Bad($"{global} is called with arguments torch.save does not write");
    }

    /// <summary>BUILD sets an object's state; the only state expected is an OrderedDict's _metadata (module versions), which is not needed.</summary>
    void Build(object? state, object? target)
    {
        if (target is not Dict) throw Bad("BUILD sets the state of something other than a dict");
    }

    static long[]? Longs(object? value) =>
        value is object?[] items && items.All(i => i is long) ? items.Select(i => (long)i!).ToArray() : null;

    void SetItems(Dict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Bad("a dict is given an odd number of keys and values");
        for (int i = 0; i < items.Count; i += 2)
        {
            object key = items[i] is string or long or bool ? items[i]! : throw Bad("a dict key is not a string or an integer");
            dict.Set(key, items[i + 1]);
        }
    }

    static ScalarType? StorageDType(string storage) => storage switch
    {
        "FloatStorage" => ScalarType.Float32,
        "DoubleStorage" => ScalarType.Float64,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => null,
    };

    object? Recall(long index) => _memo.TryGetValue(index, out var value) ? value : throw Bad($"the pickle recalls memo entry {index}, which was never stored");

    object? Tuple(int count)
    {
        if (_stack.Count - (_marks.Count > 0 ? _marks.Peek() : 0) < count) throw Bad("a tuple takes more items than the stack holds");
        var items = _stack.GetRange(_stack.Count - count, count).ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad("the pickle closes a mark it never opened");
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    void Push(object? value) => _stack.Add(value);

    object? Peek() => Peek2(0);

    object? Peek2(int below)
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count - 1 - below < floor) throw Bad("the pickle takes from an empty stack");
        return _stack[_stack.Count - 1 - below];
    }

    object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    List<object?> AsList(object? value, string opcode) => value as List<object?> ?? throw Bad($"{opcode} adds to something that is not a list");

    Dict AsDict(object? value, string opcode) => value as Dict ?? throw Bad($"{opcode} adds to something that is not a dict");

    byte Byte() => Bytes(1)[0];

    ReadOnlySpan<byte> Bytes(long count)
    {
        if (count < 0 || count > _data.Length - _position) throw Bad($"the pickle ends in the middle of an item at byte {_position}");
        var span = _data.AsSpan(_position, (int)count);
        _position += (int)count;
        return span;
    }

    /// <summary>An unsigned little-endian length of 4 or 8 bytes.</summary>
    long Length(int width)
    {
        ulong value = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)) : BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8));
        return value > int.MaxValue ? throw Bad($"the pickle has an item of {value} bytes") : (long)value;
    }

    object Long(int width)
    {
        var value = new BigInteger(Bytes(width), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : throw Bad("the pickle has an integer beyond 64 bits");
    }

    string Text(long length)
    {
        try
        {
            return StrictUtf8.GetString(Bytes(length));
        }
        catch (DecoderFallbackException)
        {
            throw Bad("the pickle has a string that is not UTF-8");
        }
    }

    string Latin1(long length) => Encoding.Latin1.GetString(Bytes(length));

    /// <summary>One newline-terminated ASCII line, as GLOBAL's module and name are written.</summary>
    string Line()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0 || end - _position > 256) throw Bad($"a pickle global at byte {_position} has no end of line");
        string line = Encoding.ASCII.GetString(_data, _position, end - _position);
        _position = end + 1;
        return line;
    }

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Text from the file on one line, cut short if long.</summary>
    internal static string Shown(string text) =>
        string.Concat((text.Length > 100 ? text[..100] + "..." : text).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    BadInputException Bad(string what) => new($"{_path}: not a PyTorch state dict ({what})");
}
