using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Classification;

/// <summary>
/// Chapter 6 as a trainer: a model's output head replaced by a linear layer to the classes (kept when it
/// already has that many outputs), everything frozen but the last blocks, the final norm and the head
/// (or LoRA adapters, appendix E), trained through the shared trainer on padded labelled texts with
/// the cross-entropy of the last position's logits.
/// </summary>
public static class ClassifierFineTuning
{
    /// <summary>Sets up a new fine-tuning run in <paramref name="runDir"/>.</summary>
    public static ClassifierRun Start(ClassificationOptions options, string runDir, bool overwrite)
    {
        ClassificationData? data = null;
        var trainer = TrainingRun.Start(options, runDir, overwrite, (o, _) => Build((ClassificationOptions)o, runDir, null, out data));
        return new ClassifierRun(trainer, data!);
    }

    /// <summary>Continues the run in <paramref name="runDir"/> from its newest checkpoint.</summary>
    public static ClassifierRun Resume(string runDir)
    {
        ClassificationData? data = null;
        var trainer = TrainingRun.Resume<ClassificationOptions, ClassificationBatch>(runDir, (o, loaded) => Build(o, runDir, loaded, out data));
        return new ClassifierRun(trainer, data!);
    }

    /// <summary>The splits and the model of a run, built and checked, with nothing written (<c>--dry-run</c>).</summary>
    public static ClassifierRun Prepare(ClassificationOptions options)
    {
        options = (ClassificationOptions)options.WithAbsolutePaths().Validated();
        var trainer = Build(options, runDir: "", null, out var data);
        return new ClassifierRun(trainer, data);
    }

    static Trainer<ClassificationBatch> Build(ClassificationOptions options, string runDir, LoadedModel? checkpoint, out ClassificationData data)
    {
        IClassifierModel? model = checkpoint?.Network as IClassifierModel;
        try
        {
            if (checkpoint != null) TrainingRun.RequireInputs(runDir, options.DataInputs());
            var splits = ReadSplits(options);
            ITokenizer tokenizer;
            if (checkpoint != null)
            {
                tokenizer = checkpoint.Tokenizer;
            }
            else
            {
                manual_seed(options.Seed);
                // Loaded weights read their own tokenizer; random weights the one asked for.
                (model, tokenizer) = ModelChoice.CreateClassifiable(options, options.Init == null ? TokenizerLoader.ForModel(options.Tokenizer) : null);
            }
            data = ClassificationData.Encode(splits, tokenizer, model!.ContextLength, options.MaxLength);
            if (checkpoint == null) ClassifierHead.Attach(model, data.Labels.Names, (data.PaddedLength, options.Pooling), options);
            ClassifierHead.Freeze(model, options);
            var pooling = options.Pooling == "mean" ? ClassificationPooling.Mean : ClassificationPooling.Last;
            var train = new ClassificationLoader(data.Train, options.BatchSize, options.Shuffle, dropLast: true, (ulong)options.Seed);
            if (train.Count / options.GradAccumulation == 0)
                throw new BadInputException($"{data.Train.Count} training examples make no full step of {options.BatchSize} × {options.GradAccumulation}; lower --batch-size or --grad-accumulation");
            var validation = new ClassificationLoader(data.Validation, options.BatchSize, shuffle: false, dropLast: false);
            var evaluator = new ClassificationEvaluator(runDir, train, validation, options.EvalBatches, pooling, options.KeepBest, tokenizer);
            var facts = new JsonObject
            {
                ["train_examples"] = data.Train.Count,
                ["validation_examples"] = data.Validation.Count,
                ["test_examples"] = data.Test.Count,
                ["padded_length"] = data.PaddedLength,
                ["labels"] = new JsonArray(data.Labels.Names.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            };
            return new Trainer<ClassificationBatch>(options, runDir, model, tokenizer, train, ClassificationLoss.For(pooling), evaluator, facts);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
    }

    static ClassificationSplits ReadSplits(ClassificationOptions options)
    {
        LabelledText Read(string path) => LabelledText.Read(path, options.TextColumn, options.LabelColumn);
        return options.Data != null
            ? ClassificationSplits.FromFile(Read(options.Data), options.Balance, (ulong)options.Seed)
            : ClassificationSplits.FromFiles(Read(options.Train!), Read(options.Validation!), Read(options.Test!));
    }
}
