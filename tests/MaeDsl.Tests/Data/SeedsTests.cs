using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class SeedsTests
{
    [Fact]
    public void Derive_is_a_pure_function_of_seed_and_path()
    {
        Assert.Equal(Seeds.Derive(42, 1, 2, 3), Seeds.Derive(42, 1, 2, 3));
        var seen = new HashSet<long>
        {
            Seeds.Derive(42), Seeds.Derive(42, 0), Seeds.Derive(42, 1, 2), Seeds.Derive(42, 2, 1),
            Seeds.Derive(43, 1, 2), Seeds.Derive(42, 1, 2, 0), Seeds.Derive(42, 1, 3),
        };
        Assert.Equal(7, seen.Count);
    }

    [Fact]
    public void Random_streams_repeat_for_the_same_path_and_differ_otherwise()
    {
        int[] Draw(params long[] path) { var r = Seeds.Random(5, path); return Enumerable.Range(0, 8).Select(_ => r.Next()).ToArray(); }
        Assert.Equal(Draw(Seeds.Streams.DataOrder, 3), Draw(Seeds.Streams.DataOrder, 3));
        Assert.NotEqual(Draw(Seeds.Streams.DataOrder, 3), Draw(Seeds.Streams.DataOrder, 4));
        Assert.NotEqual(Draw(Seeds.Streams.DataOrder, 3), Draw(Seeds.Streams.Augment, 3));
    }

    [Fact]
    public void Uniform_is_in_unit_interval_and_roughly_uniform()
    {
        var values = Enumerable.Range(0, 10000).Select(i => Seeds.Uniform(1, i)).ToArray();
        Assert.All(values, v => Assert.InRange(v, 0.0, 1.0 - 1e-16));
        Assert.InRange(values.Average(), 0.49, 0.51);
    }

    [Fact]
    public void Torch_generator_is_derived()
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        using var g1 = Seeds.Generator(9, Seeds.Streams.MaskNoise, 2, 17);
        using var g2 = Seeds.Generator(9, Seeds.Streams.MaskNoise, 2, 17);
        using var g3 = Seeds.Generator(9, Seeds.Streams.MaskNoise, 2, 18);
        using var a = torch.rand(16, generator: g1);
        using var b = torch.rand(16, generator: g2);
        using var c = torch.rand(16, generator: g3);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.NotEqual(a.data<float>().ToArray(), c.data<float>().ToArray());
    }
}
