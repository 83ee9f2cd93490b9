using System.Collections;
using MaeDsl.Distributed;

namespace MaeDsl.Tests.Distributed;

/// <summary>The single-process group (every collective the identity, nothing of MPI loaded) and launch detection.</summary>
public class ProcessGroupTests
{
    [SkippableFact]
    public void Without_a_launcher_the_group_is_one_process_whose_collectives_are_the_identity()
    {
        Skip.If(Environment.GetEnvironmentVariable("PMI_SIZE") is { } s && s != "1", "the tests themselves run under mpiexec");
        using var group = ProcessGroup.Start();
        Assert.Equal((0, 1, true), (group.Rank, group.Size, group.IsMain));
        Assert.Equal("one process", group.Description);
        Assert.Equal(2.5, group.Average(2.5));
        Assert.True(group.AnyRank(true));
        Assert.False(group.AnyRank(false));
        Assert.True(group.AllEqual(123));
        Assert.Equal([1, 2, 3], group.Broadcast([1, 2, 3]));
        group.Barrier();

        using var model = torch.nn.Linear(3, 2);
        using var x = torch.ones(4, 3);
        model.call(x).sum().backward();
        var before = model.parameters().Select(p => p.grad!.clone()).ToArray();
        group.AverageGradients(model.parameters());
        Assert.All(model.parameters().Zip(before), pair => Assert.True(pair.First.grad!.equal(pair.Second).all().item<bool>()));
        using var t = torch.arange(5f);
        group.SumInPlace(t);
        group.BroadcastInPlace([t]);
        Assert.Equal([0f, 1, 2, 3, 4], t.data<float>().ToArray());
    }

    [SkippableFact]
    public void The_mpi_library_is_not_loaded_in_one_process()
    {
        Skip.If(Environment.GetEnvironmentVariable("PMI_SIZE") is { } s && s != "1", "the tests themselves run under mpiexec");
        using var group = ProcessGroup.Start();
        var maps = File.Exists("/proc/self/maps") ? File.ReadAllText("/proc/self/maps") : null;
        Skip.If(maps is null, "no /proc/self/maps to list the loaded libraries");
        Assert.DoesNotContain("libmpi", maps);
    }

    static IDictionary Env(params (string Key, string Value)[] variables)
        => variables.ToDictionary(v => v.Key, v => (object)v.Value);

    [Fact]
    public void Launch_is_read_from_mpich_hydra_variables()
    {
        Assert.Equal((0, 1), MpiLaunch.Detect(Env()));
        Assert.Equal((1, 2), MpiLaunch.Detect(Env(("PMI_RANK", "1"), ("PMI_SIZE", "2"), ("PMI_FD", "6"))));
        Assert.Equal((0, 1), MpiLaunch.Detect(Env(("PMI_RANK", "0"), ("PMI_SIZE", "1"))));
    }

    [Fact]
    public void Open_mpi_and_nonsense_launch_variables_are_one_clear_error()
    {
        var openMpi = Assert.Throws<DistributedException>(() => MpiLaunch.Detect(Env(("OMPI_COMM_WORLD_SIZE", "2"), ("OMPI_COMM_WORLD_RANK", "0"))));
        Assert.Contains("Open MPI", openMpi.Message);
        Assert.Contains("MPICH's mpiexec", openMpi.Message);
        Assert.DoesNotContain('\n', openMpi.Message);
        var bad = Assert.Throws<DistributedException>(() => MpiLaunch.Detect(Env(("PMI_RANK", "2"), ("PMI_SIZE", "2"))));
        Assert.Contains("PMI_RANK='2'", bad.Message);
        Assert.Throws<DistributedException>(() => MpiLaunch.Detect(Env(("PMI_SIZE", "two"))));
    }

    [Fact]
    public void Checksum_follows_values_dtypes_and_shapes()
    {
        using var a = torch.arange(12f);
        using var b = torch.arange(12f);
        using var reshaped = torch.arange(12f).reshape(3, 4);
        using var doubled = torch.arange(12.0, dtype: torch.float64);
        Assert.Equal(ProcessGroup.Checksum([a]), ProcessGroup.Checksum([b]));
        Assert.NotEqual(ProcessGroup.Checksum([a]), ProcessGroup.Checksum([reshaped]));
        Assert.NotEqual(ProcessGroup.Checksum([a]), ProcessGroup.Checksum([doubled]));
        b[5] = torch.tensor(5.0000005f);
        Assert.NotEqual(ProcessGroup.Checksum([a]), ProcessGroup.Checksum([b]));
        using var strided = torch.arange(24f).reshape(4, 6)[.., ..2];
        Assert.Equal(ProcessGroup.Checksum([strided.contiguous()]), ProcessGroup.Checksum([strided]));
    }
}
