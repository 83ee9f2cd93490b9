using System.Runtime;
using MaeDsl.Native;

namespace MaeDsl.Tests.Training;

/// <summary>
/// A no-GC region is process-wide: the tests whose code enters one (<see cref="NoGcDuringTorch"/>) run one after another,
/// and not in parallel with other tests (model construction and checkpoint loading enter regions too).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NoGcRegionCollection
{
    public const string Name = "NoGcDuringTorch (process-wide no-GC regions)";
}

[Collection(NoGcRegionCollection.Name)]
public class NoGcDuringTorchTests
{
    [Fact]
    public void NoCollectionInsideAUnitAndTheRegionEndsAfterIt()
    {
        int before = GC.CollectionCount(0);
        var (inside, collections) = NoGcDuringTorch.Run(() =>
        {
            var mode = GCSettings.LatencyMode;
            for (int i = 0; i < 1000; i++) _ = new byte[1024];       // 1 MB, well inside the budget
            int nested = NoGcDuringTorch.Run(() => 7);                         // a nested unit neither throws nor ends the region
            Assert.Equal(7, nested);
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            return (mode, GC.CollectionCount(0));
        });
        Assert.Equal(GCLatencyMode.NoGCRegion, inside);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.True(collections - before <= 1, "at most the collection that makes room for the region");
    }

    [Fact]
    public void TheRegionEndsWhenTheUnitThrows()
    {
        Assert.Throws<InvalidOperationException>(() => NoGcDuringTorch.Run(() => throw new InvalidOperationException("boom")));
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}
