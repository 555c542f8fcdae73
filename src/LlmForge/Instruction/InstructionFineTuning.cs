using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Instruction;

/// <summary>
/// Chapter 7 as a trainer: a model taught to follow instructions on Alpaca-format texts, batched with
/// the book's collate (end-of-text appended, later padding ignored by the loss), every weight trained
/// (or LoRA adapters), through the shared trainer. The model remembers its prompt format (<c>alpaca</c>).
/// </summary>
public static class InstructionFineTuning
{
    public static InstructionRun Start(InstructionOptions options, string runDir, bool overwrite)
    {
        InstructionSplits? splits = null;
        var trainer = TrainingRun.Start(options, runDir, overwrite, (o, _) => Build((InstructionOptions)o, runDir, null, out splits));
        return new InstructionRun(trainer, splits!);
    }

    public static InstructionRun Resume(string runDir)
    {
        InstructionSplits? splits = null;
        var trainer = TrainingRun.Resume<InstructionOptions, TokenBatch>(runDir, (o, loaded) => Build(o, runDir, loaded, out splits));
        return new InstructionRun(trainer, splits!);
    }

    static Trainer<TokenBatch> Build(InstructionOptions options, string runDir, LoadedModel? checkpoint, out InstructionSplits splits)
    {
        ILanguageModel? model = checkpoint?.Network;
        try
        {
            if (checkpoint != null) TrainingRun.RequireInputs(runDir, options.DataInputs());
            splits = options.Data != null
                ? InstructionSplits.FromFile(InstructionFile.Read(options.Data), options.ShuffleData, (ulong)options.Seed)
                : InstructionSplits.FromFiles(InstructionFile.Read(options.Train!),
                    options.Validation != null ? InstructionFile.Read(options.Validation) : null, options.Test != null ? InstructionFile.Read(options.Test) : null);
            ITokenizer tokenizer;
            if (checkpoint != null)
            {
                tokenizer = checkpoint.Tokenizer;
            }
            else
            {
                manual_seed(options.Seed);
                (model, tokenizer) = ModelChoice.Create(options, options.Init == null ? TokenizerLoader.ForModel(options.Tokenizer) : null);
                if (model is IClassifierModel { HasVocabularyHead: false })
                    throw new BadInputException($"--model {options.Init}: is a classifier ({model.OutputSize} outputs); instruction tuning needs a language model");
                model.PromptFormat = "alpaca";
                if (options.LoraRank is int rank)
                {
                    LoRA.Apply(model, rank, options.LoraAlpha ?? rank);
                    LoRA.FreezeAllButAdapters(model);
                }
            }
            if (options.LoraRank != null && checkpoint != null) LoRA.FreezeAllButAdapters(model!);
            int maxLength = options.MaxLength ?? model!.ContextLength;
            if (maxLength > model!.ContextLength)
                throw new BadInputException($"--max-length {maxLength} exceeds the model's context length of {model.ContextLength}");
            var train = new InstructionLoader(InstructionDataset.Encode(splits.Train, tokenizer), options.BatchSize, maxLength,
                options.Shuffle, dropLast: true, (ulong)options.Seed, options.MaskInstruction);
            if (train.Count / options.GradAccumulation == 0)
                throw new BadInputException($"{splits.Train.Count} training entries make no full step of {options.BatchSize} × {options.GradAccumulation}; lower --batch-size or --grad-accumulation");
            InstructionLoader? validation = splits.Validation.Count > 0
                ? new InstructionLoader(InstructionDataset.Encode(splits.Validation, tokenizer), options.BatchSize, maxLength, shuffle: false, dropLast: false, maskInstruction: options.MaskInstruction)
                : null;
            var sample = splits.Validation.Count > 0 ? splits.Validation[0] : null;
            var evaluator = new InstructionEvaluator(runDir, train, validation, options.EvalBatches, tokenizer, sample, Math.Min(options.MaxNewTokens, 35));
            var facts = new JsonObject
            {
                ["train_entries"] = splits.Train.Count,
                ["validation_entries"] = splits.Validation.Count,
                ["test_entries"] = splits.Test.Count,
            };
            return new Trainer<TokenBatch>(options, runDir, model, tokenizer, train, InstructionLoss.Batch, evaluator, facts);
        }
        catch
        {
            model?.Dispose();
            throw;
        }
    }
}

/// <summary>An instruction fine-tuning run: its trainer, its data, and the answers it gives at the end.</summary>
public sealed class InstructionRun(Trainer<TokenBatch> trainer, InstructionSplits splits) : IDisposable
{
    public Trainer<TokenBatch> Trainer => trainer;

    public InstructionSplits Splits => splits;

    /// <summary>Writes <c>RUN/test-responses.json</c> (the test entries with the model's responses) and returns its path.</summary>
    public string WriteTestResponses(Action<int, int>? progress = null)
    {
        var options = (InstructionOptions)trainer.Options;
        string path = Path.Combine(trainer.RunDirectory, RunFiles.TestResponses);
        InstructionResponses.Write(path, trainer.Model, trainer.Tokenizer, splits.Test, options.MaxNewTokens, progress);
        return path;
    }

    public void Dispose() => trainer.Dispose();
}
