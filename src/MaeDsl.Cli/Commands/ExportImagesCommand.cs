// `export-images`: writes N images of a dataset (balanced over its classes) as an ImageFolder of PNGs at a model's size and channels,
// to try a model on an ImageFolder (examples/CustomModel's README makes its data so).
using System.CommandLine;

namespace MaeDsl.Cli;

/// <summary>`export-images`: a small ImageFolder from Fashion-MNIST (or another ImageFolder) for a model.</summary>
internal static class ExportImagesCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("export-images",
            "Write N images of a dataset (balanced over its classes, in dataset order) as an ImageFolder (class folders of PNGs) at the model's image size " +
            "and channels.");
        var common = new CommonOptions(useDefault);
        common.AddTo(command, common.TrainLimit, common.Seed, common.Threads, common.Device);
        var split = new Option<string>("--split") { Description = "'train' or 'test' (Fashion-MNIST's t10k, an ImageFolder's 'val' sibling)",
            DefaultValueFactory = _ => "train" };
        var limit = new Option<int?>("--limit") { Description = "Write N images, the first of each class (default: all)" };
        var output = new Option<string>("--output") { Description = "The ImageFolder root to write (class sub-folders are created)", Required = true };
        foreach (var o in new Option[] { split, limit, output }) command.Options.Add(o);
        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            var model = common.ReadModel(parse);
            int? n = parse.GetValue(limit);
            MaeDsl.Training.OptionCheck.Require(n is null or >= 1, "--limit", n, "must be >= 1");
            string which = parse.GetValue(split)!;
            MaeDsl.Training.OptionCheck.Require(which is "train" or "test", "--split", which, "'train' or 'test'");
            var data = DataSources.Open(parse.GetValue(common.Dataset)!, parse.GetValue(common.DataDir), model.Spec.ImageSize, model.Spec.Channels);
            var source = which == "train" ? data.Train : data.Test ?? throw new ArgumentException($"{data.Description}: no held-out split to export");
            string root = Path.GetFullPath(parse.GetValue(output)!);
            if (File.Exists(root)) throw new IOException($"--output {root} is a file; give a folder");
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Count() is var entries and > 0)
                throw new IOException(
                    $"--output {root} is not empty ({entries} entries): an export into it would mix with what is there; give a new or empty folder");
            OutputPath.CreateFolder(root, "--output");
            int written;
            StopSignals.Says = new StopSignals.Wording("stopping the export after the current image (again to exit at once)", "the export is partial");
            try { written = ImageExport.Write(source, root, model.Spec.ImageSize, n, cancel); }
            catch (ImageExport.ExportStoppedException stopped)
            {
                Console.Out.Flush();
                Console.Error.WriteLine(
                    $"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")}: the export is partial: {stopped.Written} of {stopped.Total} images in " +
                    $"{root} " +
                                        "(every file whole, the classes in turn); export again into a new or empty folder for the full set");
                return StopSignals.ExitCode;
            }
            finally { StopSignals.Says = StopSignals.Training; }
            Console.WriteLine($"wrote {written} images of {model.Spec.ImageSize}×{model.Spec.ImageSize}×{model.Spec.Channels} ({source.NumClasses} classes) " +
                $"for {model.ClassName} to {root}");
            return 0;
        }));
        return command;
    }
}
