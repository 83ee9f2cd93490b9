// ShapeGuard: the shape checks generated forward methods call before any computation.
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>A tensor whose shape or type does not fit the model; the message names the method, argument and both shapes.</summary>
public sealed class ShapeMismatchException(string message, string argument) : ArgumentException(message, argument)
{
    /// <summary>The message without the " (Parameter 'x')" suffix ArgumentException adds.</summary>
    public override string Message => base.Message.Replace($" (Parameter '{ParamName}')", "");
}

/// <summary>Checks at the model's boundary, before any computation. Generated models call these first.</summary>
public static class ShapeGuard
{
    /// <summary>
    /// Throws unless <paramref name="tensor"/> has exactly the expected dimensions; −1 is a free
    /// dimension, shown as B. Message: "MaeVitLarge16.forward: images must be [B, 3, 224, 224], got [8, 1, 28, 28]".
    /// </summary>
    public static void Require(Tensor tensor, string method, string argument, params long[] expected)
    {
        ArgumentNullException.ThrowIfNull(tensor, argument);
        var shape = tensor.shape;
        bool fits = shape.Length == expected.Length;
        for (int i = 0; fits && i < shape.Length; i++) fits = expected[i] < 0 || expected[i] == shape[i];
        if (!fits)
            throw new ShapeMismatchException($"{method}: {argument} must be {Format(expected)}, got {Format(shape)}", argument);
    }

    /// <summary><see cref="Require"/> for a floating-point tensor (float32, float64, float16 or bfloat16).</summary>
    public static void RequireFloat(Tensor tensor, string method, string argument, params long[] expected)
    {
        ArgumentNullException.ThrowIfNull(tensor, argument);
        if (!tensor.is_floating_point())
            throw new ShapeMismatchException(
                $"{method}: {argument} must be a floating-point tensor {Format(expected)}, got {tensor.dtype} {Format(tensor.shape)}", argument);
        Require(tensor, method, argument, expected);
    }

    /// <summary>"[B, 3, 224, 224]": dimensions separated by ", ", a free leading dimension as B.</summary>
    public static string Format(long[] dims) =>
        "[" + string.Join(", ", dims.Select((d, i) => d >= 0 ? d.ToString() : i == 0 ? "B" : "*")) + "]";
}
