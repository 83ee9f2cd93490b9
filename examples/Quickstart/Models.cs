// The quickstart's models, declared with the DSL: the default `tiny` for 28×28 Fashion-MNIST and the paper's
// ablations on it (norm_pix_loss, patch 7, a one-block decoder). The runner (MaeDsl.Cli) finds them in the
// model registry; the tests link this file.
using MaeDsl;

namespace Quickstart;

/// <summary>
/// The quickstart's default model, declared with the DSL: 28×28 grey Fashion-MNIST in 4×4 patches (a 7×7 grid,
/// 49 patches, 12 visible at the paper's 75% masking), an encoder of 4 blocks × 64 (4 heads of 16) and a
/// decoder of 2 blocks × 64 (4 heads of 16). See README-quickstart.md for why this size.
/// </summary>
[MaeModel(Key = "tiny", Description = "the quickstart's small MAE for 28×28 Fashion-MNIST", Default = true)]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTiny;

// The paper's ablations on the tiny model (docs/results.md's investigation), one attribute changed each;
// the mask ratio needs no class (--mask-ratio).

/// <summary><see cref="MaeFashionTiny"/> predicting per-patch normalised pixels (norm_pix_loss).</summary>
[MaeModel(Key = "tiny-normpix", Description = "tiny with norm_pix_loss")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
[Loss(NormalizePixels = true)]
public partial class MaeFashionTinyNormPix;

/// <summary><see cref="MaeFashionTiny"/> in 7×7 patches: a 4×4 grid of 16 patches, 4 visible at 75% masking.</summary>
[MaeModel(Key = "tiny-patch7", Description = "tiny in 7×7 patches (16)")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 7, Channels = 1)]
public partial class MaeFashionTinyPatch7;

/// <summary><see cref="MaeFashionTiny"/> with a one-block decoder.</summary>
[MaeModel(Key = "tiny-decoder1", Description = "tiny with a 1-block decoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 1, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoder1;
