// NoGcDuringTorch: no collection inside a torch unit (TorchSharp's Scalar finalizer races native calls), and a loader's
// worker threads, which allocate while a step runs, never exhaust the unit's no-GC region (issue 10).
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
        // counted from inside the region: tests running in parallel in this process may collect before it starts
        var (inside, collections) = NoGcDuringTorch.Run(() =>
        {
            var mode = GCSettings.LatencyMode;
            int atEntry = GC.CollectionCount(0);
            for (int i = 0; i < 1000; i++) _ = new byte[1024];       // 1 MB, well inside the budget
            int nested = NoGcDuringTorch.Run(() => 7);                         // a nested unit neither throws nor ends the region
            Assert.Equal(7, nested);
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            return (mode, GC.CollectionCount(0) - atEntry);
        });
        Assert.Equal(GCLatencyMode.NoGCRegion, inside);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(0, collections);
    }

    /// <summary>Inside a unit that has used all but <paramref name="room"/> of its region's loader share, a worker thread asks for 16 MB;
    /// returns whether the worker went before the unit ended, and the regions lost meanwhile.</summary>
    static (bool WentDuringUnit, long Lost) WorkerAsksFor16MbInsideAUnit(long room, Func<bool>? mustGo = null)
    {
        const long ask = 16L << 20;
        long lostBefore = NoGcDuringTorch.Lost;
        bool unitEnded = false, wentDuringUnit = false;
        Thread? worker = null;
        NoGcDuringTorch.Run(() =>
        {
            long budget = NoGcDuringTorch.RegionBudget;
            Assert.True(budget >= NoGcDuringTorch.Budget, $"no region ({budget})");
            var used = new byte[budget - NoGcDuringTorch.UnitShare - room];   // the unit's (or another loader's) allocations so far
            worker = new Thread(() =>
            {
                NoGcDuringTorch.WaitForRoom(ask, mustGo);
                wentDuringUnit = !Volatile.Read(ref unitEnded);
            });
            worker.Start();
            Thread.Sleep(500);
            GC.KeepAlive(used);
            Volatile.Write(ref unitEnded, true);
        });
        Assert.True(worker!.Join(TimeSpan.FromSeconds(30)), "the worker never went");
        return (wentDuringUnit, NoGcDuringTorch.Lost - lostBefore);
    }

    [Fact]
    public void A_loader_thread_waits_until_the_unit_ends_rather_than_exhaust_its_no_gc_region()
    {
        var (went, lost) = WorkerAsksFor16MbInsideAUnit(room: 8L << 20);
        Assert.False(went, "the worker allocated inside the unit with 8 MB of room for 16 MB");
        Assert.Equal(0, lost);
    }

    [Fact]
    public void A_loader_thread_with_room_in_the_region_goes_at_once()
    {
        var (went, lost) = WorkerAsksFor16MbInsideAUnit(room: 24L << 20);
        Assert.True(went, "the worker waited although 24 MB of room were left for 16 MB");
        Assert.Equal(0, lost);
    }

    [Fact]
    public void A_loader_whose_consumer_waits_for_its_batch_goes_at_once()
    {
        var (went, _) = WorkerAsksFor16MbInsideAUnit(room: 8L << 20, mustGo: () => true);
        Assert.True(went, "the worker held back a batch its consumer waits for (a deadlock)");
    }

    [Fact]
    public void Loader_batches_beyond_half_a_region_raise_the_next_regions_budget()
    {
        NoGcDuringTorch.WaitForRoom(40L << 20);   // no unit runs: it returns at once, and asks for 2 × 40 + 16 MB from now on
        long budget = NoGcDuringTorch.Run(() => NoGcDuringTorch.RegionBudget);
        Assert.True(budget >= 96L << 20, $"region of {budget >> 20} MB");
    }

    [Fact]
    public void TheRegionEndsWhenTheUnitThrows()
    {
        Assert.Throws<InvalidOperationException>(() => NoGcDuringTorch.Run(() => throw new InvalidOperationException("boom")));
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}
