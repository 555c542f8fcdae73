using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace LlmForge.Cli;

/// <summary>
/// Number options read the invariant way and say in plain words what is wrong. System.CommandLine's own parsing
/// names .NET types ("as expected type 'System.Int32'") and reads "0,5" as 5 (the comma as a thousands
/// separator); infinity and NaN are no useful value for any option either.
/// </summary>
static class StrictNumbers
{
    /// <summary>Gives every number option under <paramref name="command"/> the strict parser.</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options) Apply(option);
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    static void Apply(Option option)
    {
        switch (option)
        {
            case Option<int> o: Install(o); break;
            case Option<int?> o: InstallNullable(o); break;
            case Option<long> o: Install(o); break;
            case Option<long?> o: InstallNullable(o); break;
            case Option<ulong> o: Install(o); break;
            case Option<ulong?> o: InstallNullable(o); break;
            case Option<double> o: Install(o); break;
            case Option<double?> o: InstallNullable(o); break;
            case Option<float> o: Install(o); break;
            case Option<float?> o: InstallNullable(o); break;
        }
    }

    static void Install<T>(Option<T> option) where T : struct, INumber<T>, IMinMaxValue<T> =>
        option.CustomParser = result => Parse<T>(option.Name, result) ?? default;

    static void InstallNullable<T>(Option<T?> option) where T : struct, INumber<T>, IMinMaxValue<T> =>
        option.CustomParser = result => Parse<T>(option.Name, result);

    /// <summary>The option's one value; null, with an error added to <paramref name="result"/>, when it is not a number.</summary>
    static T? Parse<T>(string name, ArgumentResult result) where T : struct, INumber<T>, IMinMaxValue<T>
    {
        // Several values: the parser itself reports that the option takes one.
        if (result.Tokens.Count != 1) return null;
        string text = result.Tokens[0].Value;
        string? problem = Problem(text, out T value);
        if (problem == null) return value;
        result.AddError($"{name}: '{text}' {problem}");
        return null;
    }

    /// <summary>What is wrong with <paramref name="text"/> as a <typeparamref name="T"/>, or null when it reads as one.</summary>
    static string? Problem<T>(string text, out T value) where T : struct, INumber<T>, IMinMaxValue<T>
    {
        var invariant = CultureInfo.InvariantCulture;
        bool whole = typeof(T) != typeof(double) && typeof(T) != typeof(float);
        if (whole)
        {
            if (T.TryParse(text, NumberStyles.Integer, invariant, out value)) return null;
            if (BigInteger.TryParse(text, NumberStyles.Integer, invariant, out _))
                return string.Create(invariant, $"is out of range ({T.MinValue} to {T.MaxValue})");
            return "is not a whole number";
        }
        if (!T.TryParse(text, NumberStyles.Float, invariant, out value)) return "is not a number";
        if (!T.IsFinite(value)) return "is not a finite number";
        return null;
    }
}
