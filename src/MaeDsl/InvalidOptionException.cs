// InvalidOptionException: an option out of range, a training option or the device; in the root namespace, beside the model whose
// device Devices parses, so that MaeDsl does not depend on MaeDsl.Training (which depends on it).
namespace MaeDsl;

/// <summary>An option out of range; <see cref="Message"/> is the one line for the user (no "(Parameter …)" suffix), <see cref="ArgumentException.ParamName"/>
/// the option.</summary>
public sealed class InvalidOptionException(string option, string message) : ArgumentException(message, option)
{
    public override string Message { get; } = message;
}
