// Blocks: PatchEmbed, Attention, Mlp, DropPath and the transformer Block (timm's, as the official code uses them).
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MaeDsl;

// The ViT building blocks of timm 0.3.2, which the official MAE code is written for. Field names are
// the official state_dict names (patch_embed.proj, blocks.N.norm1, attn.qkv, attn.proj, mlp.fc1, ...).

/// <summary>Image to patch tokens: a p×p convolution with stride p. [B, C, H, W] → [B, L, W].</summary>
internal sealed class PatchEmbed : Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly int patchSize;

    public PatchEmbed(int patchSize, int channels, int width) : base(nameof(PatchEmbed))
    {
        this.patchSize = patchSize;
        proj = Conv2d(channels, width, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    public Conv2d Projection => proj;

    /// <summary>The convolution's number format; with <see cref="Precision.Bf16"/> the tokens come back as bfloat16.</summary>
    public Precision Precision { get; set; }

    public override Tensor forward(Tensor images)
    {
        using var features = MixedPrecision.PatchConv(proj, images, patchSize, Precision);   // [B, W, H/p, W/p]
        using var flat = features.flatten(2);                // [B, W, L]
        return flat.transpose(1, 2);                          // [B, L, W]
    }
}

/// <summary>Multi-head self-attention with a fused qkv projection. [B, N, W] → [B, N, W].</summary>
internal sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int heads;

    public Attention(int width, int heads) : base(nameof(Attention))
    {
        this.heads = heads;
        qkv = Linear(width, 3 * width);
        proj = Linear(width, width);
        RegisterComponents();
    }

    /// <summary>With <see cref="Precision.Bf16"/>: qkv, attention and proj in bfloat16, a bfloat16 result.</summary>
    public Precision Precision { get; set; }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], w = x.shape[2];
        var qkvHeads = MixedPrecision.Linear(qkv, x, Precision).reshape(b, n, 3, heads, w / heads).permute(2, 0, 3, 1, 4); // [3, B, heads, N, w/heads]
        var (q, k, v) = (qkvHeads[0], qkvHeads[1], qkvHeads[2]);
        // softmax(q·kᵀ / sqrt(head_dim)) · v, no dropout (the official attn_drop is 0, in training and eval).
        var attended = Precision == Precision.Fp32
            ? MetaSubstitutes.Attention(q, k, v)                                     // [B, heads, N, w/heads]
            : MixedPrecision.Attention(q, k, v);                                                    // bf16, float32 softmax sums
        return MixedPrecision.Linear(proj, attended.transpose(1, 2).reshape(b, n, w), Precision).MoveToOuterDisposeScope();   // [B, N, W]
    }
}

/// <summary>The transformer MLP: fc1, exact GELU, fc2. [B, N, W] → [B, N, W].</summary>
internal sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public Mlp(int width, int hidden) : base(nameof(Mlp))
    {
        fc1 = Linear(width, hidden);
        fc2 = Linear(hidden, width);
        RegisterComponents();
    }

    /// <summary>With <see cref="Precision.Bf16"/>: fc1, GELU and fc2 in bfloat16, a bfloat16 result.</summary>
    public Precision Precision { get; set; }

    public override Tensor forward(Tensor x)
    {
        using var h = MixedPrecision.Linear(fc1, x, Precision);
        using var g = functional.gelu(h);
        return MixedPrecision.Linear(fc2, g, Precision);
    }
}

/// <summary>
/// Stochastic depth per sample (timm's DropPath): in training, zeroes a sample's residual branch with
/// probability p and scales the kept ones by 1 / (1 − p); the identity in eval or at p = 0.
/// </summary>
internal sealed class DropPath(double p) : Module<Tensor, Tensor>(nameof(DropPath))
{
    public double P { get; } = p;

    public override Tensor forward(Tensor x)
    {
        if (!training || P == 0) return x.alias();
        double keep = 1 - P;
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        // drawn on the CPU, from torch's seeded and checkpointed generator, as every draw of a run: the same masks on every device
        using var kept = empty(shape, dtype: x.dtype).bernoulli_(keep);
        using var there = Devices.To(kept, x.device);
        return x.div(keep).mul_(there);
    }
}

/// <summary>Pre-norm transformer block: x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))).</summary>
internal sealed class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn;
    private readonly DropPath drop_path;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;

    public Block(int width, int heads, int mlpHidden, double dropPath = 0.0) : base(nameof(Block))
    {
        norm1 = LayerNorm(width, eps: MaeSpec.LayerNormEps);
        attn = new Attention(width, heads);
        drop_path = new DropPath(dropPath);
        norm2 = LayerNorm(width, eps: MaeSpec.LayerNormEps);
        mlp = new Mlp(width, mlpHidden);
        RegisterComponents();
    }

    /// <summary>
    /// The attention's and the MLP's number format. With <see cref="Precision.Bf16"/> both branches return bfloat16
    /// and the float32 residual stream absorbs them (type promotion); LayerNorm sees float32.
    /// </summary>
    public Precision Precision
    {
        get => attn.Precision;
        set { attn.Precision = value; mlp.Precision = value; }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + drop_path.forward(attn.forward(MetaSubstitutes.LayerNorm(norm1, x)));
        x = x + drop_path.forward(mlp.forward(MetaSubstitutes.LayerNorm(norm2, x)));
        return x.MoveToOuterDisposeScope();
    }
}
