// MaeAttributes: the DSL's attributes ([Encoder], [Decoder], [Image], [Masking], [Loss], [MaeModel]).
namespace MaeDsl;

// The DSL's vocabulary. Each attribute has a parameterless constructor and settable properties; the
// generator reads them, the analyzer checks them (MAE001–MAE011) and MaeSpec derives every shape.
// A property left unset takes the default of the official MAE presets and main_pretrain.py.

/// <summary>The ViT encoder: <c>[Encoder(Depth = 24, Width = 1024)]</c> is ViT-L.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class EncoderAttribute : Attribute
{
    /// <summary>Number of transformer blocks (required).</summary>
    public int Depth { get; set; }
    /// <summary>Token width, embed_dim (required; divisible by 4 and by Heads).</summary>
    public int Width { get; set; }
    /// <summary>Attention heads; defaults to Width / 64 when Width is a multiple of 64.</summary>
    public int Heads { get; set; }
    /// <summary>MLP hidden size over Width (4.0).</summary>
    public double MlpRatio { get; set; } = MaeSpec.DefaultMlpRatio;
    /// <summary>Stochastic-depth rate of the classifier built from this encoder, rising linearly over depth (0.0).</summary>
    public double DropPath { get; set; }
}

/// <summary>The light decoder that reconstructs the removed patches: <c>[Decoder(Depth = 8, Width = 512)]</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class DecoderAttribute : Attribute
{
    /// <summary>Number of transformer blocks (required).</summary>
    public int Depth { get; set; }
    /// <summary>Token width, decoder_embed_dim (required).</summary>
    public int Width { get; set; }
    /// <summary>Attention heads (16, as in the official presets).</summary>
    public int Heads { get; set; } = MaeSpec.DefaultDecoderHeads;
    /// <summary>MLP hidden size over Width (4.0).</summary>
    public double MlpRatio { get; set; } = MaeSpec.DefaultMlpRatio;
}

/// <summary>The input images: <c>[Image(Size = 224, PatchSize = 16, Channels = 3)]</c> (the defaults).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class ImageAttribute : Attribute
{
    public int Size { get; set; } = MaeSpec.DefaultImageSize;
    public int PatchSize { get; set; } = MaeSpec.DefaultPatchSize;
    public int Channels { get; set; } = MaeSpec.DefaultChannels;
}

/// <summary>Which patches are removed: <c>[Masking(Ratio = 0.75, Strategy = MaskingStrategy.Random)]</c> (the defaults).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class MaskingAttribute : Attribute
{
    /// <summary>Fraction of patches removed, in (0, 1).</summary>
    public double Ratio { get; set; } = MaeSpec.DefaultMaskRatio;
    public MaskingStrategy Strategy { get; set; } = MaskingStrategy.Random;
    /// <summary>The paper's "encoder w/ [M]" ablation: the encoder sees all L tokens, a mask token at each removed one.</summary>
    public bool MaskTokensInEncoder { get; set; }
}

/// <summary>The reconstruction target: <c>[Loss(NormalizePixels = true)]</c> is the official norm_pix_loss.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LossAttribute : Attribute
{
    /// <summary>Predict per-patch normalised pixels, (x − mean) / sqrt(var + 1e-6).</summary>
    public bool NormalizePixels { get; set; }
}

/// <summary>
/// How the model registry and the command line name a model: <c>[MaeModel(Key = "tiny", Description = "...", Default = true)]</c>.
/// Without it the key is the class name in kebab case (<c>MySatelliteMae</c> → <c>my-satellite-mae</c>, the rule of
/// <see cref="MaeRules.ModelKey"/>) and the description the spec's shape (<see cref="MaeSpec.ShapeSummary"/>).
/// The analyzer checks the keys and defaults of one assembly (MAE013); see docs/dsl.md, "The model registry".
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class MaeModelAttribute : Attribute
{
    /// <summary>The key the command line's <c>--model</c> accepts (beside the class name): ^[a-z0-9]+(-[a-z0-9]+)*$, unique in the assembly.</summary>
    public string? Key { get; set; }
    /// <summary>One line for help texts (default: the shape, "224×224×3, patch 16, encoder 12×768, decoder 8×512").</summary>
    public string? Description { get; set; }
    /// <summary>The model a host runs when no command is given (at most one per application).</summary>
    public bool Default { get; set; }
}

/// <summary>
/// Written by the generator, once per registered model, on the assembly that declares it: its key, class and default flag,
/// readable from the compiled assembly. The analyzer of an assembly that references it checks its own models' keys (and those
/// of its other references) against these (MAE013); user code never writes it.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true, Inherited = false)]
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class RegisteredMaeModelAttribute(string key, string fullName, bool isDefault) : Attribute
{
    /// <summary>The model's registry key.</summary>
    public string Key { get; } = key;
    /// <summary>The model's full class name, as reflection spells it.</summary>
    public string FullName { get; } = fullName;
    /// <summary>Marked <c>[MaeModel(Default = true)]</c>.</summary>
    public bool IsDefault { get; } = isDefault;
}
