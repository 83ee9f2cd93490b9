// The MaeDsl command line over the models of this project (Models.cs): `dotnet run -- --help` lists the commands.
return await MaeDsl.Cli.MaeCli.RunAsync(args);
