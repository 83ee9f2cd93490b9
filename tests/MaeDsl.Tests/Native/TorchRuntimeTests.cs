using System.Runtime.InteropServices;
using MaeDsl.Native;

namespace MaeDsl.Tests.Native;

public class TorchRuntimeTests
{
    [SkippableFact]
    public void Libtorch_loads_and_the_system_libstdcxx_is_new_enough()
    {
        TorchRuntime.EnsureLoaded();
        Skip.IfNot(OperatingSystem.IsLinux(), "libLibTorchSharp.so's GLIBCXX requirement is Linux's; libtorch loaded");
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

    [Fact]
    public void A_too_old_libstdcxx_is_named_with_the_version_needed_and_the_fix()
    {
        var failure = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("The libtorch-cpu package is not restored"));
        var message = TorchRuntime.Explain(failure, linux: true, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "GLIBCXX_3.4.30");
        Assert.Contains("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", message);
        Assert.Contains("provides at most GLIBCXX_3.4.30", message);
        Assert.Contains("needs GLIBCXX_3.4.32", message);
        Assert.Contains("sudo bash eng/install-native-deps.sh", message);
        Assert.Contains("The libtorch-cpu package is not restored", message);
    }

    [Fact]
    public void A_new_enough_libstdcxx_points_elsewhere()
    {
        var message = TorchRuntime.Explain(new DllNotFoundException("libLibTorchSharp.so"), linux: true, "/usr/lib/libstdc++.so.6", "GLIBCXX_3.4.33");
        Assert.Contains("which is new enough", message);
        Assert.DoesNotContain("install-native-deps", message);
    }
}

public class NativeSettingsTests
{
    [DllImport("libc")]
    static extern IntPtr getenv(string name);

    [SkippableFact]
    public void Loading_libtorch_sets_libgomps_spin_count_in_the_native_environment_unless_the_user_chose_one()
    {
        TorchRuntime.EnsureLoaded();
        Skip.IfNot(OperatingSystem.IsLinux(), "libgomp's GOMP_SPINCOUNT is set on Linux only");
        string? native = Marshal.PtrToStringAnsi(getenv("GOMP_SPINCOUNT"));
        bool userChose = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null;
        Assert.Equal(userChose ? Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") : NativeSettings.GompSpinCount, native);
    }
}
