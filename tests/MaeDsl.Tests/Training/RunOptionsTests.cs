namespace MaeDsl.Tests.Training;

/// <summary>The one options model: shared options declared once, validated with the command line's names, presets by name.</summary>
public class RunOptionsTests
{
    [Theory]
    [InlineData("--epochs = 0 is invalid: must be >= 1")]
    public void AnInvalidSharedOptionIsNamedAsTheCommandLineSpellsIt(string message)
    {
        var e = Assert.Throws<InvalidOptionException>(() => new PretrainOptions { Run = RecipePresets.TinyPretrain.Run with { Epochs = 0 } }.Validate());
        Assert.Equal(message, e.Message);
        Assert.Equal("--epochs", e.ParamName);
    }

    [Fact]
    public void EveryRecipeValidatesTheSharedOptionsTheSameWay()
    {
        var bad = new RunOptions { Epochs = 2, BatchSize = 0 };
        string Message(Action validate) => Assert.Throws<InvalidOptionException>(validate).ParamName!;
        Assert.Equal("--batch", Message(() => new PretrainOptions { Run = bad }.Validate()));
        Assert.Equal("--batch", Message(() => new FineTuneOptions { NumClasses = 2, Run = bad }.Validate()));
        Assert.Equal("--batch", Message(() => new LinearProbeOptions { NumClasses = 2, Run = bad }.Validate()));
        Assert.Equal("--warmup-epochs", Message(() => new RunOptions { Epochs = 2, WarmupEpochs = -1 }.Validate()));
        new RunOptions { Epochs = 1, WarmupEpochs = 5 }.Validate();   // a warmup past the run is util/lr_sched.py's: the lr never finishes it
        Assert.Equal("--layer-decay", Message(() => (RecipePresets.OfficialFineTune with { NumClasses = 2, LayerDecay = 0 }).Validate()));
        Assert.Equal("--batch", Message(() => (RecipePresets.OfficialFineTune with { NumClasses = 2, Run = RecipePresets.OfficialFineTuneRun with { BatchSize = 7 } }).Validate()));
        Assert.Equal("--num-classes", Message(() => RecipePresets.OfficialLinearProbe.Validate()));
    }

    [Fact]
    public void TheTinyMainJobPresetHasTheValuesTheMainJobUsedBefore()
    {
        var tiny = RecipePresets.TinyPretrain;
        Assert.Equal((3, 256, 1, 1.5e-3, (double?)null, 0.0, 0.5, 0.05, 2), (tiny.Run.Epochs, tiny.Run.BatchSize, tiny.Run.AccumIter, tiny.Run.BaseLr, tiny.Run.Lr, tiny.Run.MinLr, tiny.Run.WarmupEpochs, tiny.Run.WeightDecay, tiny.Run.CheckpointPeriod));
        Assert.Equal(1.5e-3, tiny.Run.AbsoluteLr);
        Assert.Equal((0.9, 0.95), (tiny.Beta1, tiny.Beta2));
        Assert.Same(RecipePresets.TinyPretrain.GetType(), RecipePresets.Pretrain("tiny").GetType());
        Assert.Equal(RecipePresets.TinyPretrain, RecipePresets.Pretrain(RecipePresets.Tiny));
        Assert.Throws<ArgumentException>(() => RecipePresets.Pretrain("huge"));
    }

    [Fact]
    public void TheOfficialPresetsAreTheScriptsDefaults()
    {
        var pretrain = new PretrainOptions().Run;
        Assert.Equal((400, 64, 1.5e-4, 40.0, 0.05, 20), (pretrain.Epochs, pretrain.BatchSize, pretrain.BaseLr, pretrain.WarmupEpochs, pretrain.WeightDecay, pretrain.CheckpointPeriod));
        var ft = new FineTuneOptions();
        Assert.Equal((50, 64, 1e-3, 5.0, 1e-6, 0.05), (ft.Run.Epochs, ft.Run.BatchSize, ft.Run.BaseLr, ft.Run.WarmupEpochs, ft.Run.MinLr, ft.Run.WeightDecay));
        Assert.Equal((0.75, 0.1, 0.1, 0.8, 1.0, 0.25, true), (ft.LayerDecay, ft.DropPath, ft.LabelSmoothing, ft.Mixup, ft.Cutmix, ft.RandomErasing, ft.GlobalPool));
        var lp = new LinearProbeOptions();
        Assert.Equal((90, 512, 0.1, 10.0, 0.0, false), (lp.Run.Epochs, lp.Run.BatchSize, lp.Run.BaseLr, lp.Run.WarmupEpochs, lp.Run.WeightDecay, lp.GlobalPool));
        var vitB = RecipePresets.VitBaseFineTune;
        Assert.Equal((5e-4, 0.65, 100), (vitB.Run.BaseLr, vitB.LayerDecay, vitB.Run.Epochs));
        Assert.Equal((3, 128, 0.5), (RecipePresets.TinyFineTune.Run.Epochs, RecipePresets.TinyFineTune.Run.BatchSize, RecipePresets.TinyFineTune.Run.WarmupEpochs));
        Assert.Equal((4, 256, 6.4, 0.5), (RecipePresets.TinyLinearProbe.Run.Epochs, RecipePresets.TinyLinearProbe.Run.BatchSize, RecipePresets.TinyLinearProbe.Run.Lr!.Value, RecipePresets.TinyLinearProbe.Run.WarmupEpochs));
    }

    [Fact]
    public void TheOneLrSetterScalesEachGroup()
    {
        using var a = torch.nn.Linear(2, 2);
        using var optimizer = torch.optim.SGD([new TorchSharp.Modules.SGD.ParamGroup([a.weight!]), new TorchSharp.Modules.SGD.ParamGroup([a.bias!])], 0.1);
        LrSchedule.SetLearningRate(optimizer, 0.2, [0.5, 1.0]);
        Assert.Equal(new[] { 0.1, 0.2 }, optimizer.ParamGroups.Select(g => g.LearningRate));
        LrSchedule.SetLearningRate(optimizer, 0.3);
        Assert.Equal(new[] { 0.3, 0.3 }, optimizer.ParamGroups.Select(g => g.LearningRate));
        Assert.Throws<ArgumentException>(() => LrSchedule.SetLearningRate(optimizer, 0.3, [1.0]));
    }
}
