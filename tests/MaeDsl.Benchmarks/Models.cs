// The models of the mask-speedup benchmark (the paper's Table 2, ViT-L/16, decoder width 512), declared with the DSL.
namespace MaeDsl.Benchmarks;

/// <summary>MAE ViT-L/16 with an 8-block decoder: the encoder sees the 49 visible patches.</summary>
[Encoder(Depth = 24, Width = 1024)]
[Decoder(Depth = 8, Width = 512)]
partial class MaeVitL16Decoder8;

/// <summary>MAE ViT-L/16 with a 1-block decoder.</summary>
[Encoder(Depth = 24, Width = 1024)]
[Decoder(Depth = 1, Width = 512)]
partial class MaeVitL16Decoder1;

/// <summary>The baseline "encoder w/ [M]": every patch enters the encoder, removed ones as the mask token; 8-block decoder.</summary>
[Encoder(Depth = 24, Width = 1024)]
[Decoder(Depth = 8, Width = 512)]
[Masking(MaskTokensInEncoder = true)]
partial class MaeVitL16MaskTokensInEncoder;

/// <summary>The main job's tiny model (MaeFashionTiny of examples/Quickstart): 28×28 grey, patch 4, encoder 4 × 64, decoder 2 × 64.</summary>
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
partial class MaeBenchTiny;
