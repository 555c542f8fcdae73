using LlmForge.Training;
using System.Text.Json.Nodes;

namespace LlmForge.Preference;

/// <summary>
/// DPO as a trainer: the policy starts from <c>--model</c> and learns to prefer the chosen response over
/// the rejected one, measured against a frozen copy of the same model (the reference, loaded again from
/// <c>--model</c>, also when a run resumes), through the shared trainer.
/// </summary>
public static class DpoFineTuning
{
    public static Trainer<PreferenceBatch> Start(DpoOptions options, string runDir, bool overwrite) =>
        TrainingRun.Start(options, runDir, overwrite, (o, _) => Build((DpoOptions)o, runDir, null));

    public static Trainer<PreferenceBatch> Resume(string runDir) =>
        TrainingRun.Resume<DpoOptions, PreferenceBatch>(runDir, (o, loaded) => Build(o, runDir, loaded));

    static Trainer<PreferenceBatch> Build(DpoOptions options, string runDir, LoadedModel? checkpoint)
    {
        ILanguageModel? policy = checkpoint?.Network;
        LoadedModel? reference = null;
        try
        {
            if (checkpoint != null) TrainingRun.RequireInputs(runDir, options.DataInputs());
            var (train, validation) = ReadSplits(options);
            ITokenizer tokenizer;
            if (checkpoint != null)
            {
                tokenizer = checkpoint.Tokenizer;
            }
            else
            {
                manual_seed(options.Seed);
                (policy, tokenizer) = ModelChoice.Create(options, null);
            }
            if (policy is IClassifierModel { HasVocabularyHead: false })
                throw new BadInputException($"--model {options.Init}: is a classifier ({policy.OutputSize} outputs); preference tuning needs a language model");
            ILanguageModel referenceModel;
            if (options.LoraRank is int rank)
            {
                // The policy is adapters over the frozen starting weights; the same model without them is the reference.
                if (checkpoint == null) LoRA.Apply(policy!, rank, options.LoraAlpha ?? rank);
                LoRA.FreezeAllButAdapters(policy!);
                referenceModel = new BaseModelView(policy!);
            }
            else
            {
                // The reference: the starting model again, frozen, in eval mode, where the policy trains.
                reference = ModelLoader.Load(options.Init!, options.ConfigPath);
                foreach (var parameter in reference.Network.Module.parameters()) parameter.requires_grad = false;
                ComputeDevice.MoveTo(reference.Network, ComputeDevice.Resolve(options.Device));
                referenceModel = reference.Network;
            }
            int maxLength = options.MaxLength ?? policy!.ContextLength;
            if (maxLength > policy!.ContextLength)
                throw new BadInputException($"--max-length {maxLength} exceeds the model's context length of {policy.ContextLength}");
            var dpo = new DpoLoss(referenceModel, options.Beta);
            var trainLoader = new PreferenceLoader(PreferenceDataset.Encode(train, tokenizer), options.BatchSize, maxLength, options.Shuffle, dropLast: true, (ulong)options.Seed);
            if (trainLoader.Count / options.GradAccumulation == 0)
                throw new BadInputException($"{train.Count} training pairs make no full step of {options.BatchSize} × {options.GradAccumulation}; lower --batch-size or --grad-accumulation");
            PreferenceLoader? validationLoader = validation.Count > 0
                ? new PreferenceLoader(PreferenceDataset.Encode(validation, tokenizer), options.BatchSize, maxLength, shuffle: false, dropLast: false)
                : null;
            var evaluator = new DpoEvaluator(runDir, dpo, trainLoader, validationLoader, options.EvalBatches);
            var facts = new JsonObject { ["train_pairs"] = train.Count, ["validation_pairs"] = validation.Count };
            return new Trainer<PreferenceBatch>(options, runDir, policy, tokenizer, trainLoader, dpo.Batch, evaluator, facts, owned: reference);
        }
        catch
        {
            policy?.Dispose();
            reference?.Dispose();
            throw;
        }
    }

    static (IReadOnlyList<PreferenceEntry> Train, IReadOnlyList<PreferenceEntry> Validation) ReadSplits(DpoOptions options)
    {
        if (options.Data != null)
        {
            var splits = PreferenceSplits.Split(PreferenceFile.Read(options.Data), options.Data);
            return (splits.Train, splits.Validation);
        }
        return (PreferenceFile.Read(options.Train!), options.Validation != null ? PreferenceFile.Read(options.Validation) : []);
    }
}
