
namespace MaeDsl.Tests.Model;

public class NumericsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Unpatchify_inverts_patchify(int channels)
    {
        using var images = randn(2, channels, 28, 28);
        using var patches = Patches.Patchify(images, 7);
        Assert.Equal([2, 16, 49 * channels], patches.shape);
        using var back = Patches.Unpatchify(patches, 7, channels);
        Assert.True(back.eq(images).all().item<bool>());
    }

    [Fact]
    public void Patch_vectors_are_row_then_column_then_channel()
    {
        // pixel value = 1000·c + 100·y + x, patch size 2: the second patch (row 0, col 1) starts at x = 2.
        var data = new float[3 * 4 * 4];
        for (int c = 0; c < 3; c++) for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) data[c * 16 + y * 4 + x] = 1000 * c + 100 * y + x;
        using var images = tensor(data, [1, 3, 4, 4]);
        using var patches = Patches.Patchify(images, 2);
        Assert.Equal(new float[] { 2, 1002, 2002, 3, 1003, 2003, 102, 1102, 2102, 103, 1103, 2103 }, patches[0, 1].data<float>().ToArray());
    }

    [Fact]
    public void SinCos_values_at_known_positions()
    {
        using var table = PositionEmbedding.SinCos2D(8, 3);   // width 8: two frequencies, ω = 1 and 1/100
        Assert.Equal([10, 8], table.shape);
        Assert.All(table[0].data<double>().ToArray(), v => Assert.Equal(0.0, v));              // cls row
        // Token (h = 1, w = 2) is row 1 + 1·3 + 2 = 6: [sin 2ω | cos 2ω | sin 1ω | cos 1ω].
        var row = table[6].data<double>().ToArray();
        double[] expected = [Math.Sin(2), Math.Sin(0.02), Math.Cos(2), Math.Cos(0.02), Math.Sin(1), Math.Sin(0.01), Math.Cos(1), Math.Cos(0.01)];
        for (int i = 0; i < 8; i++) Assert.Equal(expected[i], row[i], 12);
        Assert.Throws<ArgumentException>(() => PositionEmbedding.SinCos2D(6, 3));
    }

    [Fact]
    public void Sin_cos_position_embeddings_are_frozen_but_in_the_state_dict()
    {
        using var model = new SpecMae(ReferenceData.TinySpec);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.False(parameters["pos_embed"].requires_grad);
        Assert.False(parameters["decoder_pos_embed"].requires_grad);
        Assert.True(parameters["cls_token"].requires_grad);
        Assert.Contains("pos_embed", model.state_dict().Keys);
        using var expected = PositionEmbedding.SinCos2D(64, 4).to(float32);
        Assert.True(parameters["pos_embed"][0].eq(expected).all().item<bool>());
    }

    [Fact]
    public void Normalised_pixel_target_of_a_hand_computed_patch()
    {
        float[] patch = [1, 2, 3, 4, 5, 6, 7, 8];
        double mean = 4.5, variance = patch.Sum(v => (v - mean) * (v - mean)) / 7;   // unbiased
        using var target = ReconstructionLoss.NormalizePatches(tensor(patch, [1, 1, 8]));
        var values = target.data<float>().ToArray();
        for (int i = 0; i < 8; i++) Assert.Equal((patch[i] - mean) / Math.Sqrt(variance + 1e-6), values[i], 5);
    }

    [Fact]
    public void Loss_ignores_visible_patches()
    {
        using var target = randn(2, 4, 12);
        using var pred = target.clone();
        using var mask = tensor(new float[] { 1, 0, 0, 1, 0, 1, 0, 0 }, [2, 4]);
        // Wreck the visible patches' predictions: the loss stays 0.
        using var visible = (1 - mask).unsqueeze(-1);
        using var wrecked = pred + visible * 100;
        using var loss = ReconstructionLoss.Compute(target, wrecked, mask, normalizePixels: false);
        Assert.Equal(0f, loss.item<float>());
        // An error of 1 on every element of the three removed patches gives exactly 1.
        using var off = pred + mask.unsqueeze(-1);
        using var loss1 = ReconstructionLoss.Compute(target, off, mask, normalizePixels: false);
        Assert.Equal(1f, loss1.item<float>(), 5);
    }

    [Fact]
    public void Trunc_normal_has_the_right_std_and_bounds()
    {
        using var t = empty(200_000);
        Init.TruncNormal(t, 0.02, new Generator(1));
        Assert.InRange(t.std().item<float>(), 0.0195, 0.0205);
        using var bounded = empty(200_000);
        Init.TruncNormal(bounded, 1.0, new Generator(2), a: -1, b: 1);
        Assert.InRange(bounded.min().item<float>(), -1, -0.99);
        Assert.InRange(bounded.max().item<float>(), 0.99, 1);
        // std of N(0,1) truncated to [-1, 1] is 0.5379.
        Assert.InRange(bounded.std().item<float>(), 0.532, 0.544);
    }

    [Fact]
    public void Drop_path_is_identity_in_eval_and_drops_whole_samples_in_training()
    {
        using var drop = new DropPath(0.5);
        using var x = ones(1000, 3, 4);
        drop.eval();
        using (var y = drop.forward(x)) Assert.True(y.eq(x).all().item<bool>());
        drop.train();
        using var z = drop.forward(x);
        var perSample = z.reshape(1000, -1);
        using var rowMin = perSample.amin(1);
        using var rowMax = perSample.amax(1);
        Assert.True(rowMin.eq(rowMax).all().item<bool>());                 // per sample: all kept or all dropped
        var kept = rowMax.data<float>().Count(v => v == 2f);                  // kept ones scaled by 1 / 0.5
        Assert.Equal(1000, kept + rowMax.data<float>().Count(v => v == 0f));
        Assert.InRange(kept, 430, 570);
    }
}
