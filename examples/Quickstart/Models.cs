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

// The rest of the paper's Table 1 on the tiny model, for `ablate decoder-depth|decoder-width|mask-token`: each differs
// from MaeFashionTiny in the one setting its sweep varies (the sweep finds them by that).

/// <summary><see cref="MaeFashionTiny"/> with a four-block decoder.</summary>
[MaeModel(Key = "tiny-decoder4", Description = "tiny with a 4-block decoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 4, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoder4;

/// <summary><see cref="MaeFashionTiny"/> with an eight-block decoder (the paper's default depth).</summary>
[MaeModel(Key = "tiny-decoder8", Description = "tiny with an 8-block decoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 8, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoder8;

/// <summary><see cref="MaeFashionTiny"/> with a decoder half as wide (32, 4 heads of 8).</summary>
[MaeModel(Key = "tiny-decoder-w32", Description = "tiny with a 32-wide decoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 32, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoderW32;

/// <summary><see cref="MaeFashionTiny"/> with a decoder twice as wide (128, 4 heads of 32).</summary>
[MaeModel(Key = "tiny-decoder-w128", Description = "tiny with a 128-wide decoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 128, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoderW128;

/// <summary><see cref="MaeFashionTiny"/> whose encoder sees every patch, a mask token at each removed one (Table 1c's "w/ [M]").</summary>
[MaeModel(Key = "tiny-masktoken", Description = "tiny with mask tokens in the encoder")]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
[Masking(MaskTokensInEncoder = true)]
public partial class MaeFashionTinyMaskToken;
