// This example's masked autoencoder, declared with the MaeDsl attributes for 32×32 RGB images. The build generates
// and registers it, so the command line finds it as `--model custom` (or `--model CustomMae`), and runs it by default.
using MaeDsl;

namespace CustomModel;

/// <summary>
/// A small MAE for 32×32 RGB images: 4×4 patches (an 8×8 grid of 64, 16 visible at 75% masking), an encoder of
/// 4 blocks × 64 (4 heads) and a decoder of 2 blocks × 64 (4 heads) predicting per-patch normalised pixels.
/// </summary>
[MaeModel(Key = "custom", Description = "examples/CustomModel: a small MAE for 32×32 RGB images", Default = true)]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 32, PatchSize = 4, Channels = 3)]
[Loss(NormalizePixels = true)]
public partial class CustomMae;
