// The official MAE pre-training models of models_mae.py (mae_vit_base_patch16, mae_vit_large_patch16,
// mae_vit_huge_patch14), declared with the DSL: the generator derives their shapes, parameter counts
// and guarded forward passes from these attributes, exactly as it does for a user's variant, and registers them
// with MaeModels under the keys vit-b16, vit-l16 and vit-h14.
namespace MaeDsl.Presets;

/// <summary>MAE ViT-Base/16: 12 blocks of width 768 (12 heads), decoder 8 × 512 (16 heads), 224×224 images.</summary>
[MaeModel(Key = "vit-b16", Description = "official mae_vit_base_patch16 (224×224 RGB)")]
[Encoder(Depth = 12, Width = 768)]
[Decoder(Depth = 8, Width = 512)]
public partial class MaeVitBase16;

/// <summary>MAE ViT-Large/16: 24 blocks of width 1024 (16 heads), decoder 8 × 512 (16 heads), 224×224 images.</summary>
[MaeModel(Key = "vit-l16", Description = "official mae_vit_large_patch16 (224×224 RGB)")]
[Encoder(Depth = 24, Width = 1024)]
[Decoder(Depth = 8, Width = 512)]
public partial class MaeVitLarge16;

/// <summary>MAE ViT-Huge/14: 32 blocks of width 1280 with 16 heads (head dim 80), decoder 8 × 512, 14×14 patches.</summary>
[MaeModel(Key = "vit-h14", Description = "official mae_vit_huge_patch14 (224×224 RGB)")]
[Encoder(Depth = 32, Width = 1280, Heads = 16)]
[Decoder(Depth = 8, Width = 512)]
[Image(PatchSize = 14)]
public partial class MaeVitHuge14;
