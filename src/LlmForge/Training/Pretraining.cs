using System.Text.Json.Nodes;

namespace LlmForge.Training;

/// <summary>
/// Chapter 5's pretraining as a trainer: the text cut into next-token windows (<see cref="PretrainingData"/>,
/// <see cref="DataLoader"/>), the cross-entropy over every position, and an evaluation of both splits'
/// losses with a sample of generated text (<see cref="PretrainingEvaluator"/>).
/// </summary>
public static class Pretraining
{
    /// <summary>Sets up a new pretraining run in <paramref name="runDir"/> (see <see cref="TrainingRun.Start{TBatch}"/>).</summary>
    public static Trainer<TokenBatch> Start(PretrainingOptions options, string runDir, bool overwrite) =>
        TrainingRun.Start(options, runDir, overwrite, (o, _) => Build((PretrainingOptions)o, runDir, checkpoint: null));

    /// <summary>Continues the pretraining run in <paramref name="runDir"/> from its newest checkpoint.</summary>
    public static Trainer<TokenBatch> Resume(string runDir) =>
        TrainingRun.Resume<PretrainingOptions, TokenBatch>(runDir, (o, model) => Build(o, runDir, model));

    /// <summary>Pretraining's batch loss: next-token cross-entropy over every position of the windows.</summary>
    public static (Tensor Loss, long Count) NextTokenLoss(ILanguageModel model, TokenBatch batch) =>
        (Loss.CalcLossBatch(model, batch.InputTensor(model.Device), batch.TargetTensor(model.Device)), batch.Inputs.Length);

    static Trainer<TokenBatch> Build(PretrainingOptions options, string runDir, LoadedModel? checkpoint)
    {
        ILanguageModel? checkpointModel = checkpoint?.Network;
        try
        {
            if (checkpointModel != null) TrainingRun.RequireInputs(runDir, [("--data", options.Data), ("--tokenizer", options.Tokenizer)]);
            var tokenizer = TokenizerLoader.ForModel(options.Tokenizer);
            var data = PretrainingData.Load(options.Data, tokenizer, options.ValFraction);
            if (checkpointModel == null) manual_seed(options.Seed);
            var model = checkpointModel ?? ModelChoice.Create(options, tokenizer, options.ContextLength).Model;
            checkpointModel = model; // disposed below if anything fails from here
            if (model is IClassifierModel { HasVocabularyHead: false } classifier)
                throw new BadInputException($"--init {options.Init}: is a classifier ({classifier.OutputSize} outputs{(classifier.Labels is { } names ? ": " + string.Join(", ", names) : "")}); pretraining needs a language model's vocabulary head");
            int contextLength = options.ContextLength ?? model.ContextLength;
            if (contextLength > model.ContextLength)
                throw new BadInputException($"--context-length {contextLength} is longer than the model's context of {model.ContextLength}");
            if (model is GptModel gpt)
                MemoryBudget.Require(MemoryBudget.TrainingBytes(gpt.Config, options.BatchSize, contextLength, options.Precision == "bf16"),
                    $"a training step on batches of {options.BatchSize} × {contextLength} tokens (weights, gradients, AdamW state, activations)");
            int stride = options.Stride ?? contextLength;
            if (data.TrainIds.Length <= contextLength)
                throw new BadInputException($"{options.Data}: the training text has {data.TrainIds.Length} tokens, fewer than one window of {contextLength} plus one");
            var train = new DataLoader(new GptDataset(data.TrainIds, contextLength, stride), options.BatchSize, options.Shuffle, dropLast: true, (ulong)options.Seed);
            DataLoader? val = null;
            if (options.ValFraction > 0)
            {
                if (data.ValIds.Length <= contextLength)
                    throw new BadInputException($"{options.Data}: the validation text has {data.ValIds.Length} tokens, fewer than one window of {contextLength} plus one; lower --context-length or raise --val-fraction (0 turns validation off)");
                val = new DataLoader(new GptDataset(data.ValIds, contextLength, contextLength), options.BatchSize, shuffle: false, dropLast: false);
            }
            if (train.Count / options.GradAccumulation == 0)
                throw new BadInputException($"{options.Data}: {train.Dataset.Count} windows make no full step of {options.BatchSize} × {options.GradAccumulation} batches; lower --batch-size or --grad-accumulation");
            var evaluator = new PretrainingEvaluator(runDir, train, val, options.EvalBatches, tokenizer, options.SamplePrompt, options.SampleTokens);
            var facts = new JsonObject { ["train_tokens"] = data.TrainIds.Length, ["val_tokens"] = data.ValIds.Length };
            return new Trainer<TokenBatch>(options, runDir, model, tokenizer, train, NextTokenLoss, evaluator, facts);
        }
        catch
        {
            checkpointModel?.Module.Dispose();
            throw;
        }
    }
}
