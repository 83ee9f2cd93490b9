// TEMPORARY, until the generator registers models (branch `registry`): registers Models.cs's models by hand.
using System.Runtime.CompilerServices;
using MaeDsl.Cli;

namespace Quickstart;

static class QuickstartRegistration
{
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => MaeDsl.MaeModels.Register(
    [
        TemporaryRegistration.Of<MaeFashionTiny>("tiny", "the quickstart's small MAE for 28×28 Fashion-MNIST", isDefault: true),
        TemporaryRegistration.Of<MaeFashionTinyNormPix>("tiny-normpix", "tiny with norm_pix_loss"),
        TemporaryRegistration.Of<MaeFashionTinyPatch7>("tiny-patch7", "tiny in 7×7 patches (16)"),
        TemporaryRegistration.Of<MaeFashionTinyDecoder1>("tiny-decoder1", "tiny with a 1-block decoder"),
    ]);
}
