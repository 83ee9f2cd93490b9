// WeightDecay: timm's add_weight_decay groups (no decay for biases and norms) and pre-training's AdamW.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Optimization;

/// <summary>
/// timm's <c>optim_factory.add_weight_decay</c>, which main_pretrain.py uses ("set wd as 0 for bias and
/// norm layers"): frozen parameters (requires_grad false, e.g. the sin-cos pos_embed) are left out of the
/// optimizer; a parameter with one dimension, a name ending in ".bias", or a name in the skip list gets no
/// decay; every other parameter gets <c>weight_decay</c>. The groups come in timm's order: no-decay first.
/// Note that cls_token and mask_token ([1, 1, W]) are decayed, exactly as in the official code.
/// </summary>
internal static class WeightDecay
{
    /// <summary>Whether the official rule decays this parameter (it must be trainable).</summary>
    public static bool IsDecayed(string name, long[] shape, IReadOnlySet<string>? skipList = null) =>
        !(shape.Length == 1 || name.EndsWith(".bias", StringComparison.Ordinal) || (skipList?.Contains(name) ?? false));

    /// <summary>The trainable parameters split by the rule, each list in named_parameters() order.</summary>
    public static (IReadOnlyList<(string Name, Parameter Param)> NoDecay, IReadOnlyList<(string Name, Parameter Param)> Decay)
        Split(nn.Module module, IReadOnlySet<string>? skipList = null)
    {
        var noDecay = new List<(string, Parameter)>();
        var decay = new List<(string, Parameter)>();
        foreach (var (name, param) in module.named_parameters())
        {
            if (!param.requires_grad) continue; // frozen weights
            (IsDecayed(name, param.shape, skipList) ? decay : noDecay).Add((name, param));
        }
        return (noDecay, decay);
    }

    /// <summary>
    /// The two AdamW groups, built with <see cref="AdamW.Options"/> so that each group keeps <paramref name="lr"/>
    /// (TorchSharp 0.107's <c>ParamGroup(ps, weight_decay: 0)</c> overload resets lr to 1e-3).
    /// </summary>
    public static AdamW.ParamGroup[] ParamGroups(nn.Module module, double weightDecay, double lr, IReadOnlySet<string>? skipList = null)
    {
        if (weightDecay < 0 || !double.IsFinite(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be a finite number >= 0");
        var (noDecay, decay) = Split(module, skipList);
        return
        [
            new AdamW.ParamGroup(noDecay.Select(p => p.Param), new AdamW.Options { LearningRate = lr, weight_decay = 0.0 }),
            new AdamW.ParamGroup(decay.Select(p => p.Param), new AdamW.Options { LearningRate = lr, weight_decay = weightDecay }),
        ];
    }

    /// <summary>AdamW over <see cref="ParamGroups"/> with the pre-training betas (0.9, 0.95) by default.</summary>
    public static AdamW CreateOptimizer(nn.Module module, double lr, double weightDecay, double beta1 = 0.9, double beta2 = 0.95,
        IReadOnlySet<string>? skipList = null) =>
        optim.AdamW(ParamGroups(module, weightDecay, lr, skipList), lr: lr, beta1: beta1, beta2: beta2, weight_decay: weightDecay);
}
