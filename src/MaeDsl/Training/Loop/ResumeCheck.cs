// ResumeCheck: whether a checkpoint may be resumed by this run (its options and its place in this run's epochs).
using System.Globalization;
using MaeDsl.Checkpoints;

namespace MaeDsl.Training.Loop;

internal static class ResumeCheck
{
    /// <summary>
    /// The resume checks, in one place: the trajectory options of this run against the checkpoint's configuration (refused,
    /// with every difference, unless --allow-change names it; --epochs may be raised), then the position of the checkpoint in
    /// this run's epochs. Returns the changes allowed (recorded in history.jsonl).
    /// </summary>
    public static IReadOnlyList<OptionChange> Check(string path, CheckpointInfo info, RunConfig config, Type optionsType, int stepsPerEpoch, RunOptions run)
    {
        var saved = RunConfig.Parse(info.Config, path);
        var changes = OptionClasses.Compare(saved, config, optionsType);
        var allowed = run.AllowChange is null ? [] : OptionClasses.SplitAllowChange(run.AllowChange).ToHashSet();
        bool Allowed(OptionChange c) => allowed.Contains(c.Name.Split(' ')[0])
            || (c.Class == OptionClass.Epochs && run.Epochs > saved.Run.Epochs);
        var refused = changes.Where(c => !Allowed(c)).ToList();
        if (refused.Count > 0)
        {
            string names = string.Join(",", refused.Select(c => c.Name.Split(' ')[0]).Distinct());
            throw new InvalidDataException($"{path}: this run differs from the checkpoint in what it trains: {string.Join("; ", refused)}. " +
                $"Resume with the checkpoint's values, or pass --allow-change {names} to change them deliberately (recorded in {RunHistory.FileName})");
        }

        int startEpoch = info.Epoch + 1;
        long expected = (long)startEpoch * stepsPerEpoch + info.StepInEpoch;
        if (info.GlobalStep != expected || info.StepInEpoch > stepsPerEpoch)
        {
            bool dataChangeAllowed = changes.Any(c => c.Name.Split(' ')[0] is "batch" or "train-limit" or "dataset" && allowed.Contains(c.Name.Split(' ')[0]));
            if (!(dataChangeAllowed && !info.MidEpoch))
            {
                long savedSteps = saved.DerivedNumber("steps_per_epoch") is { } d ? (long)d
                    : info.StepInEpoch == 0 && startEpoch > 0 ? info.GlobalStep / startEpoch : -1;
                string Images(RunConfig c) => (c.Inputs[OptionClasses.InputKeys.TrainImages] ?? c.Derived["train_images"])?.ToJsonString() ?? "?";
                throw new InvalidDataException(
                    $"{path}: the checkpoint's epochs have {(savedSteps < 0 ? "?" : savedSteps.ToString(CultureInfo.InvariantCulture))} iterations (--batch " +
                        $"{saved.Run.BatchSize}, {Images(saved)} training images), " +
                    $"this run's have {stepsPerEpoch} (--batch {run.BatchSize}, {Images(config)} training images): " +
                    (info.MidEpoch ? "a checkpoint written inside an epoch resumes only with the same batch size and data"
                        : "resume with the same batch size and data"));
            }
        }
        if (startEpoch >= run.Epochs)
            throw new ArgumentException($"{path} already completed epoch {startEpoch} of {run.Epochs}: raise --epochs to train further");
        return changes.Where(Allowed).ToList();
    }
}
