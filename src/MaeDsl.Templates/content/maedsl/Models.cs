// This project's masked autoencoder, declared with the MaeDsl attributes. The build generates it (shapes checked at
// compile time) and registers it, so the command line finds it as `--model my-mae` (or `--model MyMae`).
using MaeDsl;

/// <summary>
/// A small MAE for 32×32 RGB images: 4×4 patches (an 8×8 grid of 64, 16 visible at 75% masking), an encoder of
/// 4 blocks × 64 (4 heads) and a decoder of 2 blocks × 64. Change the attributes to fit your images.
/// </summary>
[MaeModel(Key = "my-mae", Description = "a small MAE for 32×32 RGB images", Default = true)]
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 32, PatchSize = 4, Channels = 3)]
public partial class MyMae;
