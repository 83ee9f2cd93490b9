using MaeDsl.Evaluation;
using MaeDsl.Tests.Training;

namespace MaeDsl.Tests.Evaluation;

[Collection(NoGcRegionCollection.Name)]
public class MaskedPatchErrorTests
{
    [Fact]
    public void BaselineFillsRemovedPatchesWithTheMeanVisibleValue()
    {
        // one image, three patches of two values: patch 0 visible (1, 3), patch 1 removed (5, 7), patch 2 removed (2, 2)
        using var target = torch.tensor(new float[] { 1, 3, 5, 7, 2, 2 }, 1, 3, 2);
        using var mask = torch.tensor(new float[] { 0, 1, 1 }, 1, 3);
        using var baseline = MaskedPatchError.MeanVisiblePrediction(target, mask);
        Assert.Equal(new float[] { 2, 2, 2, 2, 2, 2 }, baseline.contiguous().data<float>().ToArray());
        // per removed patch: ((2-5)² + (2-7)²) / 2 = 17 and 0; averaged over the two removed patches: 8.5
        using var mse = MaskedPatchError.PerImage(baseline, target, mask);
        Assert.Equal(8.5f, mse.item<float>());
    }

    [Fact]
    public void ModelErrorIsTheModelsLossOnTheSameMasks()
    {
        torch.set_num_threads(1);
        using var model = new TinyMae(11);
        var data = new SyntheticBatches(32, 16, seed: 1);
        var batches = data.Batches(0).ToList();
        Func<int, long, Tensor> noise = (i, b) => torch.rand([b, TinyMae.TinySpec.NumPatches], generator: new torch.Generator((ulong)(100 + i)));
        var result = MaskedPatchError.Evaluate(model, batches, noise);

        double expected = 0;
        model.eval();
        using (torch.no_grad())
            for (int i = 0; i < batches.Count; i++)
            {
                using var output = model.forward(batches[i], noise(i, 16));
                expected += output.Loss.item<float>() * 16;
            }
        Assert.Equal(32, result.Images);
        Assert.Equal(expected / 32, result.Model, 5);
        Assert.True(result.MeanVisibleBaseline > 0);
        Assert.False(result.NormalizePixels);
    }
}
