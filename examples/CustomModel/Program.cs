// The MaeDsl command line over this project's model (Models.cs): `dotnet run -- --help` lists the commands.
return await MaeDsl.Cli.MaeCli.RunAsync(args);
