namespace LlmForge.Cli.Commands;

/// <summary><c>llmforge classify</c>: a fine-tuned classifier's label for texts (the book's <c>classify_review</c>).</summary>
static class ClassifyCommand
{
    public static Command Create()
    {
        var model = ModelOptions.Model();
        model.Description = "a classifier: a finetune classify run or checkpoint (its best model: RUN/best)";
        var config = ModelOptions.Config();
        var text = new Option<string>("--text") { Description = "the text to classify" };
        var file = new Option<string>("--file") { Description = "a UTF-8 file: each non-empty line is a text" };
        var device = ModelOptions.Device();
        var threads = ModelOptions.Threads();
        var json = TextOptions.Json();
        json.Description = "print JSON: {label, probabilities}, one line per text for --file";
        var command = new Command("classify", "Classify texts with a fine-tuned classifier.") { model, config, text, file, device, threads, json };
        command.SetAction(parse => Cli.Run(() =>
        {
            ModelOptions.ApplyThreads(parse.GetValue(threads));
            if ((parse.GetValue(text) == null) == (parse.GetValue(file) == null)) throw new BadInputException("give exactly one of --text and --file");
            List<string> texts = parse.GetValue(text) is string one
                ? [one.Length > 0 ? one : throw new BadInputException("--text is empty")]
                : TextFile.ReadUtf8(parse.GetValue(file)!).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
            if (texts.Count == 0) throw new BadInputException($"{parse.GetValue(file)}: no text in it (every line is empty)");
            string onDevice = ComputeDevice.Resolve(parse.GetValue(device));
            using var loaded = ModelLoader.Load(parse.GetValue(model)!, parse.GetValue(config));
            if (loaded.Labels == null)
                throw new BadInputException($"--model {parse.GetValue(model)}: not a classifier (its head gives {loaded.Network.OutputSize:N0} outputs and names no classes); make one with llmforge finetune classify");
            ComputeDevice.MoveTo(loaded.Network, onDevice);
            var classes = TextClassifier.Classify((IClassifierModel)loaded.Network, loaded.Tokenizer, texts);
            foreach (var (result, input) in classes.Zip(texts))
            {
                if (parse.GetValue(json))
                {
                    var probabilities = new System.Text.Json.Nodes.JsonObject();
                    foreach (var (label, p) in result.Probabilities) probabilities[label] = Math.Round(p, 6);
                    Console.Out.WriteLine(new System.Text.Json.Nodes.JsonObject { ["label"] = result.Label, ["probabilities"] = probabilities }.ToJsonString());
                }
                else
                {
                    string scores = string.Join(", ", result.Probabilities.Select(s => $"{s.Label} {s.Probability:F3}"));
                    Console.Out.WriteLine(texts.Count == 1 ? $"{result.Label} ({scores})" : $"{result.Label}\t({scores})\t{input}");
                }
            }
            return Cli.ExitOk;
        }));
        return command;
    }
}
