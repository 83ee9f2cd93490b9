using MaeDsl.Native;

namespace MaeDsl.Tests.Native;

public class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_the_system_libstdcxx_is_new_enough()
    {
        TorchRuntime.EnsureLoaded();
        if (!OperatingSystem.IsLinux()) return;
        var (path, newest) = TorchRuntime.FindLibStdCxx();
        Assert.NotNull(path);
        Assert.True(TorchRuntime.CompareGlibcxx(newest, TorchRuntime.RequiredGlibcxx) >= 0, $"{path} provides {newest}");
    }

    [Theory]
    [InlineData("GLIBCXX_3.4.30", "GLIBCXX_3.4.32", -1)]
    [InlineData("GLIBCXX_3.4.33", "GLIBCXX_3.4.32", 1)]
    [InlineData("GLIBCXX_3.4.32", "GLIBCXX_3.4.32", 0)]
    [InlineData("GLIBCXX_3.4", "GLIBCXX_3.4.1", -1)]
    [InlineData(null, "GLIBCXX_3.4", -1)]
    public void Glibcxx_versions_compare_by_their_last_number(string? a, string b, int sign) =>
        Assert.Equal(sign, Math.Sign(TorchRuntime.CompareGlibcxx(a, b)));
}
