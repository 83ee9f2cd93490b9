// EpochEvaluation: a recipe's evaluations after its epochs: eval.csv, TensorBoard's eval folder and the log line.
using System.Globalization;
using MaeDsl.Evaluation;
using TorchSharp;

namespace MaeDsl.Training.Loop;

/// <summary>
/// Keeps a run's evaluations (those of a resumed run's earlier epochs read back from eval.csv) and records each new one:
/// a row of eval.csv, the perf/test_* scalars of TensorBoard's eval folder and main_finetune.py's accuracy line.
/// </summary>
internal sealed class EpochEvaluation
{
    readonly int period;
    readonly string path;
    readonly string name;
    readonly int epochs;
    readonly bool writes;
    readonly TorchSharp.Modules.SummaryWriter? board;

    /// <param name="period">Evaluate after every this many epochs and after the last; 0: the recipe has none.</param>
    /// <param name="resumedAtEpoch">The first epoch of a resumed run, whose earlier evaluations eval.csv holds; null for a fresh run.</param>
    /// <param name="writes">Write eval.csv, TensorBoard and the line (rank 0 of a data-parallel run, or the one process); else only keep the results.</param>
    public EpochEvaluation(RunOptions run, int period, string name, int? resumedAtEpoch, bool writes = true)
    {
        this.period = period;
        this.writes = writes;
        this.name = name;
        epochs = run.Epochs;
        path = Path.Combine(run.OutputDir, EvalLog.CsvFileName);
        if (!Enabled) return;
        if (resumedAtEpoch is int start && File.Exists(path)) Evals.AddRange(EvalLog.Read(path).Where(e => e.Epoch < start));
        if (!writes) return;
        EvalLog.Write(path, Evals);
        if (run.TensorBoard) board = torch.utils.tensorboard.SummaryWriter(Path.Combine(run.OutputDir, "tensorboard", "eval"));
    }

    public bool Enabled => period > 0;
    public List<EpochEval> Evals { get; } = [];
    /// <summary>The newest evaluation of this process; null before the first.</summary>
    public EvalResult? Last { get; private set; }

    public bool DueAfter(int epoch) => Enabled && ((epoch + 1) % period == 0 || epoch + 1 == epochs);

    public void Record(int epoch, EvalResult result, double trainLoss, double trainSeconds, TrainingLog log)
    {
        Last = result;
        Evals.Add(new EpochEval(epoch, result.Top1, result.Top5, result.Loss, trainLoss, trainSeconds));
        if (!writes) return;
        EvalLog.Append(path, Evals[^1]);
        board?.add_scalar("perf/test_acc1", (float)result.Top1, epoch);
        board?.add_scalar("perf/test_acc5", (float)result.Top5, epoch);
        board?.add_scalar("perf/test_loss", (float)result.Loss, epoch);
        log.Message(string.Create(CultureInfo.InvariantCulture,
            $"{name} epoch {epoch + 1}/{epochs}: accuracy of the network on the {result.Samples} test images: top-1 {result.Top1:F2}% " +
            $"top-5 {result.Top5:F2}% (max {Evals.Max(x => x.Top1):F2}%)"));
    }
}
