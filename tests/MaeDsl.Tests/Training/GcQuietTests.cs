using System.Runtime;
using MaeDsl.Training;

namespace MaeDsl.Tests.Training;

/// <summary>A no-GC region is process-wide: the tests whose code enters one run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class GcQuietCollection
{
    public const string Name = "GcQuiet (process-wide no-GC regions)";
}

[Collection(GcQuietCollection.Name)]
public class GcQuietTests
{
    [Fact]
    public void NoCollectionInsideAUnitAndTheRegionEndsAfterIt()
    {
        int before = GC.CollectionCount(0);
        var (inside, collections) = GcQuiet.Run(() =>
        {
            var mode = GCSettings.LatencyMode;
            for (int i = 0; i < 1000; i++) _ = new byte[1024];       // 1 MB, well inside the budget
            int nested = GcQuiet.Run(() => 7);                         // a nested unit neither throws nor ends the region
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
        Assert.Throws<InvalidOperationException>(() => GcQuiet.Run(() => throw new InvalidOperationException("boom")));
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}
