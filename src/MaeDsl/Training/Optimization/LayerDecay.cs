// LayerDecay: the official param_groups_lrd (layer-wise lr scales and weight decay) and its AdamW.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Optimization;

/// <summary>
/// One parameter group of layer-wise lr decay: every parameter of one layer id that shares one weight-decay
/// setting. The official code names it <c>layer_{id}_decay</c> or <c>layer_{id}_no_decay</c>.
/// </summary>
internal sealed record LayerDecayGroup(string Name, int LayerId, double LrScale, double WeightDecay,
    IReadOnlyList<(string Name, Parameter Parameter)> Parameters);

/// <summary>
/// Layer-wise learning-rate decay (ELECTRA/BEiT), exactly as the official <c>util/lr_decay.param_groups_lrd</c>:
/// layer 0 holds patch_embed, cls_token and pos_embed; block i is layer i+1; everything after the blocks
/// (fc_norm / norm, head) is layer <c>num_layers = depth + 1</c> at scale 1. A layer's lr scale is
/// <c>layer_decay^(num_layers − layer_id)</c>. 1-D parameters and the no-weight-decay names
/// (pos_embed, cls_token) get weight decay 0.
/// </summary>
internal static class LayerDecay
{
    /// <summary>The names timm's VisionTransformer.no_weight_decay() returns (dist_token does not exist here).</summary>
    public static readonly IReadOnlySet<string> NoWeightDecayNames = new HashSet<string> { "pos_embed", "cls_token" };

    /// <summary>The official get_layer_id_for_vit: 0 for cls_token, pos_embed, patch_embed.*; i+1 for blocks.i.*; else numLayers.</summary>
    public static int LayerId(string name, int numLayers)
    {
        if (name is "cls_token" or "pos_embed") return 0;
        if (name.StartsWith("patch_embed", StringComparison.Ordinal)) return 0;
        if (name.StartsWith("blocks", StringComparison.Ordinal))
        {
            var parts = name.Split('.');
            if (parts.Length < 2 || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                out var block))
                throw new ArgumentException($"LayerDecay.LayerId: parameter '{name}' starts with 'blocks' but has no block index (expected 'blocks.<i>.…').",
                    nameof(name));
            return block + 1;
        }
        return numLayers;
    }

    /// <summary>layer_decay^(numLayers − layerId).</summary>
    public static double Scale(int layerId, int numLayers, double layerDecay) => Math.Pow(layerDecay, numLayers - layerId);

    /// <summary>
    /// The parameter groups of param_groups_lrd, in the order the official dict creates them (first appearance
    /// in <paramref name="namedParameters"/>). Parameters with requires_grad false are skipped, as there.
    /// </summary>
    /// <param name="namedParameters">The model's named_parameters() with state_dict names.</param>
    /// <param name="depth">Number of transformer blocks (len(model.blocks)); num_layers = depth + 1.</param>
    /// <param name="weightDecay">The weight decay of decayed parameters (0.05 in main_finetune.py).</param>
    /// <param name="layerDecay">The per-layer factor (0.75 in main_finetune.py).</param>
    /// <param name="noWeightDecay">Names without weight decay besides the 1-D ones; default <see cref="NoWeightDecayNames"/>.</param>
    public static IReadOnlyList<LayerDecayGroup> ParamGroups(
        IEnumerable<(string Name, Parameter Parameter)> namedParameters, int depth,
        double weightDecay = 0.05, double layerDecay = 0.75, IReadOnlySet<string>? noWeightDecay = null)
    {
        if (depth < 0) throw new ArgumentOutOfRangeException(nameof(depth), depth, "LayerDecay.ParamGroups: depth must be ≥ 0.");
        if (!(layerDecay > 0 && layerDecay <= 1)) throw new ArgumentOutOfRangeException(nameof(layerDecay), layerDecay,
            "LayerDecay.ParamGroups: layer_decay must be in (0, 1].");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "LayerDecay.ParamGroups: weight decay must be ≥ 0.");
        noWeightDecay ??= NoWeightDecayNames;
        int numLayers = depth + 1;

        var order = new List<string>();
        var groups = new Dictionary<string, (int LayerId, double Decay, List<(string, Parameter)> Params)>();
        foreach (var (name, p) in namedParameters)
        {
            if (!p.requires_grad) continue;
            bool noDecay = p.dim() == 1 || noWeightDecay.Contains(name);
            int layerId = LayerId(name, numLayers);
            if (layerId > numLayers)
                throw new ArgumentException($"LayerDecay.ParamGroups: parameter '{name}' is in block {layerId - 1}, but the model has depth {depth}.",
                    nameof(depth));
            string groupName = $"layer_{layerId}_{(noDecay ? "no_decay" : "decay")}";
            if (!groups.TryGetValue(groupName, out var g))
            {
                g = (layerId, noDecay ? 0.0 : weightDecay, new List<(string, Parameter)>());
                groups[groupName] = g;
                order.Add(groupName);
            }
            g.Params.Add((name, p));
        }
        return order.Select(n =>
        {
            var g = groups[n];
            return new LayerDecayGroup(n, g.LayerId, Scale(g.LayerId, numLayers, layerDecay), g.Decay, g.Params);
        }).ToList();
    }

    /// <summary>
    /// AdamW over the layer-decay groups (one TorchSharp param group per <see cref="LayerDecayGroup"/>, same order),
    /// betas (0.9, 0.999) as main_finetune.py. Each group's options are set explicitly: TorchSharp 0.107's
    /// <c>ParamGroup(ps, weight_decay: …)</c> overload resets lr to 1e-3.
    /// </summary>
    public static AdamW CreateAdamW(IReadOnlyList<LayerDecayGroup> groups, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        if (groups.Count == 0) throw new ArgumentException("LayerDecay.CreateAdamW: no parameter groups (no trainable parameters?).", nameof(groups));
        var paramGroups = groups.Select(g => new AdamW.ParamGroup(g.Parameters.Select(np => np.Parameter).ToList(), new AdamW.Options
        {
            LearningRate = lr * g.LrScale,
            weight_decay = g.WeightDecay,
            beta1 = beta1,
            beta2 = beta2,
            eps = eps,
            amsgrad = false,
            maximize = false,
        })).ToList();
        return torch.optim.AdamW(paramGroups, lr, beta1, beta2, eps, 0.0);
    }

    /// <summary>The groups' lr scales, in order: what <see cref="LrSchedule.SetLearningRate"/> multiplies the lr by.</summary>
    public static IReadOnlyList<double> LrScales(IReadOnlyList<LayerDecayGroup> groups) => groups.Select(g => g.LrScale).ToList();
}
