using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class SubsetDatasetTests
{
    [Fact]
    public void First_takes_a_prefix_only_when_the_limit_is_below_the_count()
    {
        var data = new SyntheticDataset(10, channels: 1, height: 4, width: 4, numClasses: 2, seed: 1);
        Assert.Same(data, SubsetDataset.First(data, null));
        Assert.Same(data, SubsetDataset.First(data, 10));
        Assert.Same(data, SubsetDataset.First(data, 25));
        var first = SubsetDataset.First(data, 3);
        Assert.Equal(3, first.Count);
        Assert.Equal(data.Get(2).Image.Data, first.Get(2).Image.Data);
        Assert.Equal(data.GetLabel(2), first.GetLabel(2));
    }
}
