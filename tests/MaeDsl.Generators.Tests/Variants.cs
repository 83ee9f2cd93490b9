namespace MaeDsl.Generators.Tests;

/// <summary>The model declarations whose generated source is kept as a golden file in Baselines/.</summary>
public static class Variants
{
    /// <summary>The official tiny reference model (mae-tiny-official): 32×32, patch 8, 64-wide encoder; file-scoped namespace.</summary>
    public const string Tiny = """
        using MaeDsl;

        namespace Tests.Tiny;

        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 32, PatchSize = 8)]
        public partial class MaeTiny;
        """;

    /// <summary>ViT-B/16 as the preset declares it; block namespace.</summary>
    public const string VitBase16 = """
        using MaeDsl;

        namespace Tests.Presets
        {
            [Encoder(Depth = 12, Width = 768)]
            [Decoder(Depth = 8, Width = 512)]
            public partial class MaeVitBase16;
        }
        """;

    /// <summary>Fashion-MNIST: 28×28 grey images in 4×4 patches, a ViT-Tiny-width encoder (192, 3 heads by default); global namespace.</summary>
    public const string FashionMnist = """
        using MaeDsl;

        [Encoder(Depth = 4, Width = 192)]
        [Decoder(Depth = 2, Width = 128, Heads = 4)]
        [Image(Size = 28, PatchSize = 4, Channels = 1)]
        public partial class FashionMae
        {
        }
        """;

    /// <summary>The paper's block-wise masking ablation at 50%.</summary>
    public const string BlockMasking = """
        using MaeDsl;

        namespace Tests.Ablations;

        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 32, PatchSize = 4)]
        [Masking(Ratio = 0.5, Strategy = MaskingStrategy.Block)]
        internal partial class BlockMae;
        """;

    /// <summary>Grid masking (one patch of every 2×2 kept).</summary>
    public const string GridMasking = """
        using MaeDsl;

        namespace Tests.Ablations;

        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 32, PatchSize = 8)]
        [Masking(Strategy = MaskingStrategy.Grid)]
        public partial class GridMae;
        """;

    /// <summary>The official norm_pix_loss.</summary>
    public const string NormPix = """
        using MaeDsl;

        namespace Tests.Ablations;

        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 32, PatchSize = 8)]
        [Loss(NormalizePixels = true)]
        public partial class NormPixMae;
        """;

    /// <summary>The paper's "encoder w/ [M]" ablation: the encoder sees all patches, mask tokens at the removed ones.</summary>
    public const string MaskTokensInEncoder = """
        using MaeDsl;

        namespace Tests.Ablations;

        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 32, PatchSize = 8)]
        [Masking(MaskTokensInEncoder = true)]
        public partial class EncoderWithMaskTokensMae;
        """;

    /// <summary>A model nested in a partial class, its attributes spread over two partial declarations.</summary>
    public const string NestedSplit = """
        using MaeDsl;

        namespace Tests.Nested
        {
            public static partial class Zoo
            {
                [Encoder(Depth = 1, Width = 48, Heads = 3, MlpRatio = 2.5)]
                internal partial class SmallMae
                {
                    public string Describe() => $"{NumPatches} patches";
                }

                [Decoder(Depth = 1, Width = 16, Heads = 2)]
                [Image(Size = 16, PatchSize = 4, Channels = 2)]
                [Masking(Ratio = 0.6)]
                internal partial class SmallMae;
            }
        }
        """;

    /// <summary>[MaeModel] with a key, a description that needs escaping in the registry, and Default; 13 channels.</summary>
    public const string Registered = """
        using MaeDsl;

        namespace Tests.Registry;

        [MaeModel(Key = "satellite", Description = "13-band \"Sentinel-2\" tiles, 64×64", Default = true)]
        [Encoder(Depth = 2, Width = 64, Heads = 4)]
        [Decoder(Depth = 1, Width = 32, Heads = 4)]
        [Image(Size = 64, PatchSize = 16, Channels = 13)]
        public partial class MySatelliteMae;
        """;

    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>
    {
        [nameof(Tiny)] = Tiny,
        [nameof(VitBase16)] = VitBase16,
        [nameof(FashionMnist)] = FashionMnist,
        [nameof(BlockMasking)] = BlockMasking,
        [nameof(GridMasking)] = GridMasking,
        [nameof(NormPix)] = NormPix,
        [nameof(MaskTokensInEncoder)] = MaskTokensInEncoder,
        [nameof(NestedSplit)] = NestedSplit,
        [nameof(Registered)] = Registered,
    };

    public static TheoryData<string> Names => new(All.Keys);
}
