// MaeDsl quickstart: the models of Models.cs on the MaeDsl command line. With no arguments it pre-trains `tiny` on
// Fashion-MNIST, draws reconstructions and the loss curve, checkpoints, then evaluates with k-NN; `--help` lists the rest.
return await MaeDsl.Cli.MaeCli.RunAsync(args);
