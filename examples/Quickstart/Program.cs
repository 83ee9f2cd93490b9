// MaeDsl quickstart. With no arguments: pre-train a small MAE on Fashion-MNIST, draw reconstructions and the loss
// curve, checkpoint, then evaluate with k-NN. `--help` lists the options; each subcommand lives in Commands/.
using Quickstart.Commands;

var root = MainJobCommand.Create();
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
foreach (var command in new[] { FineTuneCommand.Create(), LinProbeCommand.Create(), ResultsCommand.Create() }) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
