
namespace MaeDsl.Tests.Model;

public class MaskingTests
{
    static MaeSpec Spec(MaskingStrategy strategy, double ratio = 0.75, int size = 224, int patch = 16) =>
        ReferenceData.TinySpec with { ImageSize = size, PatchSize = patch, Masking = strategy, MaskRatio = ratio };

    [Theory]
    [InlineData(MaskingStrategy.Random, 0.75, 224, 16)]
    [InlineData(MaskingStrategy.Random, 0.5, 32, 8)]
    [InlineData(MaskingStrategy.Random, 0.9, 28, 4)]
    [InlineData(MaskingStrategy.Block, 0.75, 224, 16)]
    [InlineData(MaskingStrategy.Block, 0.4, 224, 16)]
    [InlineData(MaskingStrategy.Block, 0.75, 32, 8)]     // a 4×4 grid: too small for 16-patch blocks, topped up
    [InlineData(MaskingStrategy.Block, 0.75, 28, 4)]
    [InlineData(MaskingStrategy.Grid, 0.75, 224, 16)]
    [InlineData(MaskingStrategy.Grid, 0.75, 32, 8)]
    public void Every_strategy_removes_exactly_L_minus_len_keep(MaskingStrategy strategy, double ratio, int size, int patch)
    {
        var spec = Spec(strategy, ratio, size, patch);
        var generator = new Generator(7);
        using var noise = Masking.DrawNoise(spec, 16, generator);
        using var tokens = randn(16, spec.NumPatches, 8);
        var (kept, mask, idsRestore) = Masking.Apply(tokens, noise, spec.VisibleCount);
        using (kept) using (mask) using (idsRestore)
        {
            int expectedKeep = (int)(spec.NumPatches * (1 - ratio));
            Assert.Equal(expectedKeep, spec.VisibleCount);
            Assert.Equal([16, expectedKeep, 8], kept.shape);
            using var removedPerSample = mask.sum(1);
            Assert.All(removedPerSample.data<float>().ToArray(), r => Assert.Equal(spec.NumPatches - expectedKeep, (int)r));
        }
    }

    [Fact]
    public void Ids_restore_inverts_ids_shuffle_and_kept_tokens_are_the_unmasked_ones()
    {
        using var noise = rand(4, 49);
        using var tokens = arange(4 * 49, dtype: float32).reshape(4, 49, 1);
        var (kept, mask, idsRestore) = Masking.Apply(tokens, noise, 12);
        using var idsShuffle = noise.argsort(1);
        using var roundTrip = idsShuffle.gather(1, idsRestore);
        Assert.Equal(Enumerable.Range(0, 4).SelectMany(_ => Enumerable.Range(0, 49)).Select(i => (long)i).ToArray(), roundTrip.data<long>().ToArray());
        // The kept tokens are exactly the positions the mask marks 0, in ascending-noise order.
        for (int b = 0; b < 4; b++)
        {
            var keptIds = kept[b].data<float>().Select(v => (int)v - b * 49).OrderBy(i => i).ToArray();
            var visible = Enumerable.Range(0, 49).Where(i => mask[b, i].item<float>() == 0).ToArray();
            Assert.Equal(visible, keptIds);
        }
    }

    [Fact]
    public void Given_noise_masking_is_deterministic_and_keeps_the_smallest_noise()
    {
        var spec = Spec(MaskingStrategy.Random, 0.75, 32, 8);
        var model = new SpecMae(spec, seed: 1);
        using var images = randn(2, 3, 32, 32);
        using var noise = tensor(new float[] { 0.9f, 0.1f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.05f, 0.95f, 0.85f, 0.75f, 0.65f, 0.55f, 0.45f }).repeat(2, 1);
        using var a = model.forward(images, noise);
        using var b = model.forward(images, noise);
        Assert.Equal(a.Mask.data<float>().ToArray(), b.Mask.data<float>().ToArray());
        Assert.Equal(a.Loss.item<float>(), b.Loss.item<float>());
        // len_keep = 4: the four smallest noise values are at positions 9, 1, 8, 7.
        var visible = Enumerable.Range(0, 16).Where(i => a.Mask[0, i].item<float>() == 0).ToArray();
        Assert.Equal(new[] { 1, 7, 8, 9 }, visible);
    }

    [Fact]
    public void Drawn_noise_is_seeded()
    {
        var spec = Spec(MaskingStrategy.Block);
        using var a = Masking.DrawNoise(spec, 4, new Generator(3));
        using var b = Masking.DrawNoise(spec, 4, new Generator(3));
        using var c = Masking.DrawNoise(spec, 4, new Generator(4));
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
    }

    [Fact]
    public void Block_masks_are_rectangles_within_BEiT_bounds_topped_up_to_the_exact_count()
    {
        int grid = 14, removed = 147;
        for (int seed = 0; seed < 50; seed++)
        {
            var blocks = new List<(int Top, int Left, int Height, int Width)>();
            var mask = Masking.BlockMask(grid, removed, new Random(seed), blocks);
            Assert.Equal(removed, mask.Count(m => m));
            Assert.NotEmpty(blocks);
            var covered = new bool[grid * grid];
            foreach (var (top, left, h, w) in blocks)
            {
                Assert.InRange(top + h, 1, grid);
                Assert.InRange(left + w, 1, grid);
                double aspect = (double)h / w;
                Assert.InRange(aspect, 0.3 / 1.5, 1 / 0.3 * 1.5);   // rounding of h and w widens the bound slightly
                for (int r = top; r < top + h; r++) for (int c = left; c < left + w; c++) covered[r * grid + c] = true;
            }
            // Every rectangle cell is masked; what is not covered by a rectangle is the random top-up.
            for (int i = 0; i < covered.Length; i++) if (covered[i]) Assert.True(mask[i]);
            Assert.True(covered.Count(c => c) >= removed / 2, $"seed {seed}: blocks cover only {covered.Count(c => c)} of {removed}");
        }
    }

    [Fact]
    public void Grid_masking_keeps_one_patch_of_every_2x2()
    {
        var mask = Masking.GridMask(14);
        for (int r = 0; r < 14; r += 2)
            for (int c = 0; c < 14; c += 2)
            {
                int kept = new[] { (r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1) }.Count(p => !mask[p.Item1 * 14 + p.Item2]);
                Assert.Equal(1, kept);
                Assert.False(mask[r * 14 + c]);
            }
        var spec = Spec(MaskingStrategy.Grid);
        using var noise = Masking.DrawNoise(spec, 2, new Generator(1));
        using var tokens = zeros(2, spec.NumPatches, 1);
        var (_, drawn, _) = Masking.Apply(tokens, noise, spec.VisibleCount);
        Assert.Equal(mask.Select(m => m ? 1f : 0f).ToArray(), drawn[0].data<float>().ToArray());
    }
}
