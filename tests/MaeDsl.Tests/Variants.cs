namespace MaeDsl.Tests;

/// <summary>The configuration of Reference/mae-tiny-official.safetensors, declared with the DSL.</summary>
[Encoder(Depth = 2, Width = 64, Heads = 4)]
[Decoder(Depth = 1, Width = 32, Heads = 4)]
[Image(Size = 32, PatchSize = 8, Channels = 3)]
public partial class MaeTinyOfficial;

/// <summary>The paper's "encoder w/ [M]" ablation on the tiny configuration.</summary>
[Encoder(Depth = 2, Width = 64, Heads = 4)]
[Decoder(Depth = 1, Width = 32, Heads = 4)]
[Image(Size = 32, PatchSize = 8)]
[Masking(MaskTokensInEncoder = true)]
public partial class MaeTinyMaskTokensInEncoder;
