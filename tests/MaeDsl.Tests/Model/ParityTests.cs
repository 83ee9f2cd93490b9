using MaeDsl.Checkpoints;
using static MaeDsl.Tests.ReferenceData;

namespace MaeDsl.Tests.Model;

/// <summary>
/// A generated variant against what the official PyTorch code computed (Reference/mae-tiny-official.safetensors),
/// after loading the file's weights by their official names with strict key matching.
/// </summary>
public class ParityTests
{
    static MaeTinyOfficial LoadTiny()
    {
        Assert.Equal(TinySpec, MaeTinyOfficial.Specification);
        var model = new MaeTinyOfficial(seed: 0);
        StateDicts.Load(model, TinyModelWeights(), strict: true, "mae-tiny-official.safetensors");
        return model;
    }

    [Fact]
    public void Config_in_the_file_is_the_tiny_spec()
    {
        var config = TinyMetadata["config"];
        foreach (var expected in new[] { "\"img_size\": 32", "\"patch_size\": 8", "\"in_chans\": 3", "\"embed_dim\": 64", "\"depth\": 2",
                     "\"num_heads\": 4", "\"decoder_embed_dim\": 32", "\"decoder_depth\": 1", "\"decoder_num_heads\": 4", "\"norm_pix_loss\": false", "\"mask_ratio\": 0.75" })
            Assert.Contains(expected, config);
    }

    [Fact]
    public void Forward_matches_the_official_outputs()
    {
        using var model = LoadTiny();
        model.train();
        using var output = model.forward(Tiny["input.images"], Tiny["input.noise"]);

        Assert.True(MaxAbsDiff(output.Loss.reshape(1), Tiny["expected.loss"]) <= ActivationTolerance, $"loss {output.Loss.item<float>()} vs {Tiny["expected.loss"].item<float>()}");
        Assert.True(MaxAbsDiff(output.Pred, Tiny["expected.pred"]) <= ActivationTolerance, $"pred max |Δ| {MaxAbsDiff(output.Pred, Tiny["expected.pred"])}");
        Assert.True(MaxAbsDiff(output.Latent, Tiny["expected.latent"]) <= ActivationTolerance, $"latent max |Δ| {MaxAbsDiff(output.Latent, Tiny["expected.latent"])}");
        Assert.Equal(Tiny["expected.mask"].data<float>().ToArray(), output.Mask.data<float>().ToArray());
        Assert.Equal(Tiny["expected.ids_restore"].data<long>().ToArray(), output.IdsRestore.data<long>().ToArray());
    }

    [Fact]
    public void Patchify_matches_the_official_order()
    {
        using var model = LoadTiny();
        using var patches = model.Patchify(Tiny["input.images"]);
        Assert.Equal(0.0, MaxAbsDiff(patches, Tiny["expected.patchified"]));
    }

    [Fact]
    public void Gradients_match_the_official_ones()
    {
        using var model = LoadTiny();
        model.train();
        using var output = model.forward(Tiny["input.images"], Tiny["input.noise"]);
        output.Loss.backward();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var checkedNames = new List<string>();
        foreach (var (key, expected) in Tiny.Where(kv => kv.Key.StartsWith("expected.grad.")))
        {
            var name = key["expected.grad.".Length..];
            var grad = parameters[name].grad ?? throw new Xunit.Sdk.XunitException($"{name} has no gradient");
            double relative = RelativeMaxDiff(grad, expected);
            Assert.True(relative <= GradientTolerance, $"{name}: max |Δ| / max |ref| = {relative}");
            checkedNames.Add(name);
        }
        Assert.Equal(8, checkedNames.Count);
    }

    [Fact]
    public void Classifier_logits_match_the_official_fine_tune_vit()
    {
        using var model = LoadTiny();
        using var classifier = model.CreateClassifier(numClasses: 10, globalPool: true);
        // The encoder was copied from the MAE: the official ViT holds the same encoder weights.
        var vit = TinyVitWeights();
        foreach (var (name, t) in classifier.state_dict().Where(kv => !kv.Key.StartsWith("head.") && !kv.Key.StartsWith("fc_norm.")))
            Assert.True(MaxAbsDiff(t, vit[name]) == 0, $"{name} was not copied from the MAE encoder");
        StateDicts.Load(classifier, vit, strict: true, "mae-tiny-official.safetensors vit.*");
        classifier.eval();
        using var logits = classifier.forward(Tiny["input.images"]);
        Assert.True(MaxAbsDiff(logits, Tiny["expected.vit.logits"]) <= ActivationTolerance, $"logits max |Δ| {MaxAbsDiff(logits, Tiny["expected.vit.logits"])}");
    }
}
