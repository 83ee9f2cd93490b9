// `ablate`: the paper's ablations on the user's data: each named sweep's points pre-trained under one budget, measured by
// k-NN, linear probe and fine-tune, and written as a CSV, a plot, a Markdown table and the masks each strategy draws.
using System.CommandLine;
using System.Text.Json.Nodes;
using MaeDsl.Data;
using MaeDsl.Experiments;
using MaeDsl.Training;
using MaeDsl.Training.Loop;
using MaeDsl.Visualization;

namespace MaeDsl.Cli;

/// <summary>
/// <c>ablate ratio decoder-depth …</c>: runs the named sweeps (<see cref="Ablations"/>) in one folder. The folder is the sweep's
/// state: run the same command again after any stop and it continues where it stopped (a pre-training resumes from its last
/// checkpoint, a finished point is read, never redone). A point that fails is reported in one line and the sweep goes on.
/// </summary>
internal static class AblateCommand
{
    public const string SettingsFile = "sweep.json";

    public static Command Create(bool useDefault = true)
    {
        var command = new Command("ablate", "Run the paper's ablations (" + Ablations.Names + ") under one pre-training budget and plot k-NN, " +
                                            "linear-probe and fine-tune accuracy against each; run it again to continue an interrupted sweep");
        var sweeps = new Argument<string[]>("sweeps") { Description = $"The sweeps to run: {Ablations.Names}, or all", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--output") { Description = "The sweep folder (default: ablations/<model key>); the same folder continues a sweep" };
        var points = new Option<string?>("--points")
        {
            Description = "The points of a single sweep, comma-separated: ratios (0.5,0.75), strategies (random,block), epochs (1,2,4), or the decoder " +
                          "depths or widths of declared models (default: the paper's ratios 0.1–0.9, every strategy the model allows, epochs doubling " +
                          "up to --epochs, every declared model that differs from --model in the swept setting)",
        };
        var pretrain = new PretrainArguments(useDefault);
        pretrain.AddTo(command, except: [pretrain.Output, pretrain.Resume, pretrain.CheckpointEvery, pretrain.Control.AllowChange, pretrain.MaskRatio]);
        var protocols = new ProtocolArguments(finetuneEpochs: 2);
        command.Arguments.Add(sweeps);
        command.Options.Add(output);
        command.Options.Add(points);
        protocols.AddTo(command);

        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var settings = pretrain.Read(parse);
            var chosen = ReadSweeps(parse.GetValue(sweeps)!);
            string[]? values = parse.GetValue(points)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (values is not null && chosen.Count != 1) throw new ArgumentException("--points: give it with a single sweep");
            var notes = new List<string>();
            var plan = chosen.Select(a => (Sweep: a, Points: Ablations.Points(a, settings.Model, MaeModels.All, settings.Options.Run.Epochs, values,
                notes))).ToList();
            string folder = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine("ablations", settings.Model.Key));
            TorchSharp.torch.set_num_threads(settings.Threads);
            var data = DataSources.Open(settings.Dataset, settings.DataDir, settings.Spec.ImageSize, settings.Spec.Channels);
            if (data.Test is null) throw new ArgumentException($"--dataset: {data.Description} has no held-out split to measure on (an ImageFolder 'train' " +
                $"root needs a sibling 'val')");
            var p = protocols.Read(parse, data.Train.NumClasses, data.EvalCropPct, settings.Options.Run, settings.Threads, allowNoFineTune: true);
            int labelled = SubsetDataset.Balanced(data.Train, p.LabelledLimit ?? settings.TrainLimit, settings.Options.Run.Seed).Count;
            string? labelledOption = p.LabelledLimit is { } l ? $"--labelled-limit {l}" : settings.TrainLimit is { } t ? $"--train-limit {t}" : null;
            p.LinearProbe.Run.RequireOptimizerSteps(labelled, labelledOption, batchTyped: parse.GetResult(protocols.LinprobeBatch) is { Implicit: false },
                batchOption: "--linprobe-batch");
            p.FineTune?.Run.RequireOptimizerSteps(labelled, labelledOption, batchTyped: parse.GetResult(protocols.FinetuneBatch) is { Implicit: false },
                batchOption: "--finetune-batch");
            settings = Claim(folder, settings, p, parse.GetResult(pretrain.Control.Overwrite) is not null && parse.GetValue(pretrain.Control.Overwrite),
                PrecisionOption.IsAuto(parse, pretrain.Control.Precision));
            foreach (var note in notes) Console.WriteLine($"note: {note}");

            var runner = new AblationRunner(settings, p, data, folder, cancel);
            Console.WriteLine($"ablate {string.Join(", ", chosen)} on {settings.Model.ClassName} in {folder}: {plan.Sum(x => x.Points.Count)} points, " +
                              $"{settings.Options.Run.Epochs} pre-training epochs each (length: its own), {data.Description}; measured on {runner.Describe}");
            DrawMasks(folder, settings, data);
            int failed = 0;
            string current = "the baselines";
            try
            {
                var baselines = runner.Baselines();
                foreach (var (sweep, sweepPoints) in plan)
                {
                    var rows = new List<AblationRow>();
                    for (int i = 0; i < sweepPoints.Count; i++)
                    {
                        var point = sweepPoints[i];
                        current = "point " + point.Name;
                        string head = $"[{sweep.Name} {i + 1}/{sweepPoints.Count}] {point.Name} ({point.Model.ClassName}, {point.Spec.MaskRatio} " +
                            $"{point.Spec.Masking.ToString().ToLowerInvariant()} masking, {point.Epochs} epochs)";
                        AblationRow row;
                        if (runner.Finished(point) is { } done)
                        {
                            Console.WriteLine(head + FormattableString.Invariant(
                                $": measured earlier: k-NN {done.Knn:F2}%, linear probe {done.LinearProbe:F2}%"));
                            row = done;
                        }
                        else
                        {
                            Console.WriteLine(head);
                            try { row = runner.Run(point); }
                            catch (Exception e) when (!IsStop(e, cancel))
                            {
                                string reason = OneLineErrors.OneLine(OneLineErrors.Unwrap(e).Message);
                                Console.Out.Flush();
                                Console.Error.WriteLine($"point {point.Name} failed: {reason}");
                                row = new AblationRow("", point.Name, point.Model.ClassName, point.X, point.Label, point.Epochs, 0, double.NaN, double.NaN,
                                    double.NaN,
                                    double.NaN, double.NaN, double.NaN, double.NaN, settings.Threads, reason);
                                failed++;
                            }
                        }
                        rows.Add(row with { Sweep = sweep.Name, Point = point.Name, X = point.X, Label = point.Label });
                        Write(folder, sweep, rows, baselines, settings);
                    }
                    Console.WriteLine($"{sweep.Name}: {Path.Combine(folder, sweep.Name)}.csv, .png and .md");
                }
            }
            catch (Exception e) when (IsStop(e, cancel))
            {
                Console.Out.Flush();
                Console.Error.WriteLine($"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")} in {current}: what is done is kept " +
                                        $"(a pre-training's last checkpoint too); run the same command again to continue the sweep");
                return StopSignals.ExitCode;
            }
            if (failed == 0) return 0;
            Console.Error.WriteLine($"error: {failed} point(s) failed (each said why above); run the same command again to retry them");
            return 1;
        }));
        return command;
    }

    static IReadOnlyList<Ablation> ReadSweeps(string[] names)
    {
        if (names.Any(n => string.Equals(n, "all", StringComparison.OrdinalIgnoreCase))) return Ablations.All;
        var chosen = names.Select(Ablations.Find).Distinct().ToList();
        return chosen;
    }

    static bool IsStop(Exception e, CancellationToken cancel) =>
        OneLineErrors.Unwrap(e) is RunStoppedException || (OneLineErrors.Unwrap(e) is OperationCanceledException && cancel.IsCancellationRequested);

    /// <summary>
    /// Takes <paramref name="folder"/> for this sweep: a new folder records the settings (and the precision auto chose) in sweep.json; a
    /// folder that holds a sweep continues it when the settings are the same, and is refused (one line naming what differs) otherwise,
    /// unless --overwrite, which discards it. Returns the settings with the sweep's precision.
    /// </summary>
    static PretrainSettings Claim(string folder, PretrainSettings settings, Protocols protocols, bool overwrite, bool autoPrecision)
    {
        string path = Path.Combine(folder, SettingsFile);
        var recorded = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
        if (recorded is not null && overwrite)
        {
            Console.WriteLine($"--overwrite: discarding the sweep in {folder}");
            Directory.Delete(folder, recursive: true);
            recorded = null;
        }
        else if (recorded is null && Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !overwrite)
            throw new IOException($"--output {folder} holds files but no {SettingsFile}: it is not a sweep folder; choose another (or --overwrite to empty " +
                $"it)");
        Precision precision;
        if (autoPrecision && recorded?["precision"]?.GetValue<string>() is { } kept)
            precision = kept == "bf16" ? Precision.Bf16 : Precision.Fp32;
        else
        {
            var choice = PrecisionOption.Choose(autoPrecision, settings.Options.Run.Precision, settings.Spec, PrecisionWorkload.Pretrain,
                settings.Options.Run.BatchSize);
            Console.WriteLine($"precision of every run: {choice}");
            precision = choice.Precision;
        }
        settings = settings with { Options = settings.Options with { Run = settings.Options.Run with { Precision = precision } } };
        var identity = Identity(settings, protocols);
        if (recorded is not null)
        {
            var differs = identity.Where(kv => !JsonNode.DeepEquals(kv.Value,
                recorded[kv.Key])).Select(kv => $"{kv.Key} {recorded[kv.Key]?.ToJsonString() ?? "unset"} there, {kv.Value?.ToJsonString()} here").ToList();
            if (differs.Count > 0)
                throw new ArgumentException($"--output {folder} holds a sweep with other settings ({string.Join("; ", differs)}): use another --output, the " +
                    $"same settings, or --overwrite");
            Console.WriteLine($"continuing the sweep in {folder}");
        }
        else
        {
            Directory.CreateDirectory(folder);
            MaeDsl.IO.AtomicFile.Write(path,
                s => s.Write(System.Text.Encoding.UTF8.GetBytes(identity.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }))));
        }
        return settings;
    }

    /// <summary>What makes two sweeps' points comparable: the base model, the data, the pre-training budget and the protocols' recipes.</summary>
    static JsonObject Identity(PretrainSettings s, Protocols p)
    {
        var run = s.Options.Run;
        JsonNode? N(double? v) => v is { } d ? JsonValue.Create(d) : null;
        return new JsonObject
        {
            ["model"] = s.Model.Key, ["dataset"] = DataSources.Identity(s.Dataset), ["train_limit"] = s.TrainLimit,
            ["labelled_limit"] = p.LabelledLimit, ["test_limit"] = p.TestLimit,
            ["epochs"] = run.Epochs, ["batch"] = run.BatchSize, ["accum"] = run.AccumIter, ["blr"] = run.BaseLr, ["warmup_epochs"] = run.WarmupEpochs,
            ["min_crop_scale"] = s.MinCropScale, ["seed"] = run.Seed, ["precision"] = MixedPrecision.Name(run.Precision),
            ["linprobe"] = new JsonObject
            {
                ["epochs"] = p.LinearProbe.Run.Epochs, ["batch"] = p.LinearProbe.Run.BatchSize, ["lr"] = N(p.LinearProbe.Run.Lr),
                ["warmup_epochs"] = p.LinearProbe.Run.WarmupEpochs, ["min_crop_scale"] = p.LinearProbe.MinCropScale,
            },
            ["finetune"] = p.FineTune is not { } f ? null : new JsonObject
            {
                ["epochs"] = f.Run.Epochs, ["batch"] = f.Run.BatchSize, ["warmup_epochs"] = f.Run.WarmupEpochs, ["mixup"] = f.Mixup, ["cutmix"] = f.Cutmix,
                ["reprob"] = f.RandomErasing, ["aa"] = f.AutoAugment, ["min_crop_scale"] = f.MinCropScale, ["scratch_layer_decay"] = p.Scratch!.LayerDecay,
            },
        };
    }

    static void Write(string folder, Ablation sweep, IReadOnlyList<AblationRow> rows, AblationBaselines baselines, PretrainSettings s)
    {
        string stem = Path.Combine(folder, sweep.Name);
        MaeDsl.IO.AtomicFile.Write(stem + ".csv", f => f.Write(System.Text.Encoding.UTF8.GetBytes(AblationResults.Csv(rows, baselines))));
        MaeDsl.IO.AtomicFile.Write(stem + ".md", f => f.Write(System.Text.Encoding.UTF8.GetBytes(AblationResults.Markdown(sweep, rows, baselines))));
        if (rows.Any(r => !r.Failed))
            AblationPlot.Save(stem + ".png", sweep, rows, baselines,
                FormattableString.Invariant(
                    $"{s.Model.ClassName}, {s.Options.Run.Epochs} pre-training epochs per point (length: its own), {s.Threads} threads"));
    }

    /// <summary>masks.png (Fig. 6): eight held-out images under random 75%, block 50% and 75%, and grid 75% masking where the grid allows it.</summary>
    static void DrawMasks(string folder, PretrainSettings s, DataSources data)
    {
        var specs = new List<MaeSpec>();
        foreach (var (ratio, strategy) in new (double, MaskingStrategy)[] { (0.75, MaskingStrategy.Random), (0.5, MaskingStrategy.Block), (0.75,
            MaskingStrategy.Block), (0.75, MaskingStrategy.Grid) })
        {
            try { specs.Add(s.Model.SpecWith(MaskingOverride.For(s.Model.Spec, ratio, strategy))); }
            catch (ArgumentException) { }   // grid masking on an odd grid: the note says so
        }
        using var images = Pretraining.PreviewImages(data, 8, s.Options.Run.Seed);
        string path = MaskGallery.Save(Path.Combine(folder, "masks.png"), images, specs, data.Normalization, s.Options.Run.Seed);
        Console.WriteLine($"masks: {path}");
    }
}
