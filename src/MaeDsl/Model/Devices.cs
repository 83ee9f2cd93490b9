// Devices: the device a model computes on (cpu, cuda, cuda:N, or libtorch's meta device in tests), resolved in one place, and the moves to it.
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// The model's device and the tensors that follow it. A model is built on the CPU (its initialisation draws from CPU
/// generators) and moved once, before an optimizer holds its parameters (<see cref="MoveModel"/>); every tensor the
/// runtime then makes is made on, or moved to, the device of the tensors it works with. The loader's batches stay on
/// the CPU (pinned when the device is CUDA, <see cref="PinFor"/>) until the step that uses them moves them
/// (<see cref="To"/>). See docs/device.md.
/// </summary>
internal static class Devices
{
    /// <summary>What --device accepts, as the error lines spell it.</summary>
    public const string Choices = "cpu, cuda, cuda:N or auto";

    /// <summary>
    /// The device <paramref name="text"/> names: <c>cpu</c>, <c>cuda</c> (= <c>cuda:0</c>), <c>cuda:N</c>, <c>auto</c> (CUDA when
    /// libtorch reports it, else the CPU) or <c>meta</c> (libtorch's shape-only device: the device-correctness tests).
    /// A CUDA device this libtorch cannot reach is an <see cref="InvalidOptionException"/> with one line, before any work.
    /// </summary>
    public static Device Resolve(string? text, string option = "--device")
    {
        string t = (text ?? "cpu").Trim().ToLowerInvariant();
        if (t is "cpu") return CPU;
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        if (t is "meta") return new Device(DeviceType.META);
        if (t is "auto") return cuda.is_available() ? new Device(DeviceType.CUDA, 0) : CPU;
        int index = 0;
        if (t is not "cuda" && !(t.StartsWith("cuda:", StringComparison.Ordinal)
                                 && int.TryParse(t.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index)))
            throw new InvalidOptionException(option, $"{option} {text} is invalid: expected {Choices}");
        if (!cuda.is_available())
            throw new InvalidOptionException(option, $"{option} {text}: this libtorch has no CUDA device (a CPU build, or no GPU and driver); " +
                "build with -p:TorchBackend=cuda on a CUDA machine, or use --device cpu");
        int count = cuda.device_count();
        if (index >= count)
            throw new InvalidOptionException(option, $"{option} {text}: libtorch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}");
        return new Device(DeviceType.CUDA, index);
    }

    /// <summary>The name config.json and the logs use: cpu, cuda:N, meta.</summary>
    public static string Name(Device device) =>
        device.type == DeviceType.CUDA ? FormattableString.Invariant($"cuda:{Math.Max(device.index, 0)}") : device.type.ToString().ToLowerInvariant();

    /// <summary>The device of <paramref name="model"/>'s parameters (the CPU for a model without any).</summary>
    public static Device Of(nn.Module model)
    {
        foreach (var p in model.parameters()) return p.device;
        return CPU;
    }

    /// <summary>Whether two devices are the same (cuda and cuda:0 are).</summary>
    public static bool Same(Device a, Device b) => a.type == b.type && (a.type != DeviceType.CUDA || Math.Max(a.index, 0) == Math.Max(b.index, 0));

    /// <summary>
    /// Moves <paramref name="model"/> to <paramref name="device"/> when it is elsewhere (a no-op on its own device). Moving replaces
    /// the parameters, so it comes before an optimizer is made from them: the recipes do it first.
    /// </summary>
    public static void MoveModel(nn.Module model, Device device)
    {
        if (!Same(Of(model), device)) model.to(device);
    }

    /// <summary>
    /// <paramref name="t"/> on <paramref name="device"/>: a new handle (to dispose) to the same tensor when it is there already,
    /// else a copy, asynchronous when the source is pinned host memory and the target is CUDA.
    /// </summary>
    public static Tensor To(Tensor t, Device device)
    {
        if (Same(t.device, device)) return t.alias();
        bool pinned = device.type == DeviceType.CUDA && t.device_type == DeviceType.CPU && t.is_pinned();
        return t.to(device, non_blocking: pinned);
    }

    /// <summary>A loader's batch for a step on <paramref name="device"/>: in pinned (page-locked) memory when it is CUDA, else itself.</summary>
    public static Tensor PinFor(Tensor batch, Device device) =>
        device.type == DeviceType.CUDA && batch.device_type == DeviceType.CPU ? batch.pin_memory() : batch;

    /// <summary>Whether <paramref name="t"/> lives on libtorch's meta device (shapes and dtypes only, no values).</summary>
    public static bool IsMeta(Tensor t) => t.device_type == DeviceType.META;
}
