// MaeDsl quickstart. With no arguments: pre-train a small MAE on Fashion-MNIST, draw reconstructions and the loss
// curve, checkpoint, then evaluate with k-NN. `--help` lists the options; each subcommand lives in Commands/.
using Quickstart.Commands;

var root = MainJobCommand.Create();
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(FineTuneCommand.Create());
root.Subcommands.Add(LinProbeCommand.Create());
root.Subcommands.Add(ResultsCommand.Create());
return await root.Parse(args).InvokeAsync();
