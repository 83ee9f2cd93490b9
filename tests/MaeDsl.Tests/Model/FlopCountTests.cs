namespace MaeDsl.Tests.Model;

/// <summary>
/// MaeSpec's analytic FLOP counts (what `bench` prints as gflop_per_img) against a count written out by hand for a
/// one-block model: every matrix product, its shape, and its multiply-accumulates.
/// </summary>
public class FlopCountTests
{
    // 8×8 grey images, patch 4: L = 4 patches of p²C = 16 values; 75 % masking keeps (int)(4 × 0.25) = 1 patch.
    // Encoder 1 block, width 8, 2 heads, MLP 32; decoder 1 block, width 8, 2 heads, MLP 32.
    static readonly MaeSpec OneBlock = new(8, 4, 1, 1, 8, 2, 4.0, 0.0, 1, 8, 2, 4.0, 0.75, MaskingStrategy.Random, false, false);

    // The forward pass of one image, product by product (tokens × inner × outer):
    const long PatchEmbed = 4 * 16 * 8;        //  512: conv p×p stride p = [4 patches, 16] · [16, 8], on all patches before masking
    const long EncQkv = 2 * 8 * 24;            //  384: cls + 1 visible token, [2, 8] · [8, 24]
    const long EncScores = 2 * 2 * 4 * 2;      //   32: q·kᵀ per head [2, 4] · [4, 2], 2 heads
    const long EncAttnV = 2 * 2 * 4 * 2;       //   32: attn·v per head [2, 2] · [2, 4], 2 heads
    const long EncProj = 2 * 8 * 8;            //  128
    const long EncFc1 = 2 * 8 * 32;            //  512
    const long EncFc2 = 2 * 32 * 8;            //  512
    const long DecoderEmbed = 2 * 8 * 8;       //  128: the encoder's 2 output tokens, [2, 8] · [8, 8]
    const long DecQkv = 5 * 8 * 24;            //  960: cls + all 4 patches (mask tokens restored)
    const long DecScores = 5 * 5 * 4 * 2;      //  200
    const long DecAttnV = 5 * 5 * 4 * 2;       //  200
    const long DecProj = 5 * 8 * 8;            //  320
    const long DecFc1 = 5 * 8 * 32;            // 1280
    const long DecFc2 = 5 * 32 * 8;            // 1280
    const long DecoderPred = 5 * 8 * 16;       //  640: on all 5 tokens (the official code drops cls after the product)

    const long ForwardMacs = PatchEmbed + EncQkv + EncScores + EncAttnV + EncProj + EncFc1 + EncFc2
        + DecoderEmbed + DecQkv + DecScores + DecAttnV + DecProj + DecFc1 + DecFc2 + DecoderPred;   // 7120

    [Fact]
    public void ForwardMacs_OfOneBlockModel_MatchTheCountByHand()
    {
        Assert.Equal(1, OneBlock.VisibleCount);
        Assert.Equal(7120, ForwardMacs);
        Assert.Equal(ForwardMacs, OneBlock.ForwardMacsPerImage);
        Assert.Equal(PatchEmbed, OneBlock.PatchEmbedMacsPerImage);
    }

    [Fact]
    public void TrainingFlops_OfOneBlockModel_MatchTheCountByHand()
    {
        // backward: every product twice more (input gradient and weight gradient; both operands for q·kᵀ and attn·v),
        // except the patch embedding, whose input (the images) needs no gradient: its weight gradient only
        long backwardMacs = 2 * (ForwardMacs - PatchEmbed) + PatchEmbed;
        long flops = 2 * (ForwardMacs + backwardMacs);
        Assert.Equal(41696, flops);
        Assert.Equal(flops, OneBlock.TrainingFlopsPerImage);
    }

    [Fact]
    public void EncodeFlops_OfOneBlockModel_MatchTheCountByHand()
    {
        // unmasked encoder: patch embedding, then one block on cls + all 4 patches = 5 tokens
        long macs = PatchEmbed + 5 * 8 * 24 + 5 * 5 * 4 * 2 + 5 * 5 * 4 * 2 + 5 * 8 * 8 + 5 * 8 * 32 + 5 * 32 * 8;
        Assert.Equal(2 * macs, OneBlock.EncodeFlopsPerImage);
    }

    [Fact]
    public void TrainingFlops_OfVitB16_AreAbout59Gflop()
    {
        // the "about 59 GFLOP per ViT-B training image"
        var spec = PresetTests.Preset("mae_vit_base_patch16");
        Assert.InRange(spec.TrainingFlopsPerImage / 1e9, 55, 62);
    }
}
