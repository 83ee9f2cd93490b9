// PretrainOptions: the pre-training recipe's options (main_pretrain.py): the shared RunOptions plus AdamW's betas.
namespace MaeDsl.Training;

/// <summary>
/// The pre-training recipe: <see cref="Run"/> (defaults: the official main_pretrain.py + PRETRAIN.md values,
/// <see cref="RecipePresets.OfficialPretrainRun"/>) and what only pre-training has: AdamW's betas (0.9, 0.95).
/// Weight decay 0.05 with timm's no-decay rule, the masking noise of every step drawn from (seed, epoch, step).
/// </summary>
public sealed record PretrainOptions
{
    public RunOptions Run { get; init; } = RecipePresets.OfficialPretrainRun;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Run.Validate();
        OptionCheck.Require(Beta1 >= 0 && Beta1 < 1, "beta1", Beta1, "must be in [0, 1)");
        OptionCheck.Require(Beta2 >= 0 && Beta2 < 1, "beta2", Beta2, "must be in [0, 1)");
    }
}
