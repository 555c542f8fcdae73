namespace LlmForge.Tests;

/// <summary>Text that trips tokenizers: every test comparing two tokenizers runs over these.</summary>
static class HardStrings
{
    public static readonly string[] Valid =
    [
        "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.",
        "Hello 👋🏽 world 🇺🇸 👨‍👩‍👧‍👦 🤖🤖🤖",
        "你好，世界。日本語のテキストです。 한국어 텍스트",
        "e\u0301 n\u0303 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǒ̖ café naïve",
        "a    b", "   ", "\n\n\n", "\t\t x", "line\r\nbreak", " \n \n ", "end   ", "  leading", "\u00a0nbsp\u00a0", "para\u2028sep\u0085",
        "I'm you're we've they'll she'd it's don't 'S 'T DON'T o'clock rock'n'roll '' 's",
        "1234567890 3.14159 1,000,000 ١٢٣ ½ Ⅻ 2nd",
        "<|endoftext|", "<|endoftext|><|endoftext|>", "<|im_start|>", "< |endoftext| >", "<|ENDOFTEXT|>", "<|endoftext|>", "x<|endoftext|>y",
        "𝐀𝐁𝐂 𠀀𠀁 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "zero\u200dwidth\u200bspace",
        "!!!??? ... --- @#$%^&*() [] {} \\ / | ~ ` ' \" ;:",
        "tab\tseparated\tvalues\n",
        "",
        " ",
        "a",
        new string(' ', 300) + "spaces" + new string('\n', 50),
        new string('x', 500),
    ];

    /// <summary>Strings that are not valid UTF-16 (lone surrogates): ids must still match; no round trip exists.</summary>
    public static readonly string[] LoneSurrogates = ["\uD800", "a\uDC00b", "\uD83D hi", "end\uD83D", "\uDE00\uD83D"];

    /// <summary>Random strings over an alphabet that mixes every character class the pre-tokeniser tells apart.</summary>
    public static IEnumerable<string> Random(int count, int seed)
    {
        const string alphabet = "ab Z9'sdtmlrve\n\t\r .,!?-_\u00a0\u2028é\u0301中😀\uD835\uDC00٣ⅫsTLL\"'";
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (int j = 0; j < chars.Length; j++) chars[j] = alphabet[random.Next(alphabet.Length)];
            yield return new string(chars);
        }
    }
}
