// The rules an MAE configuration must follow, with their messages. Shared, like MaeSpec.cs, by the
// runtime (which throws) and the generator's analyzer (which reports MAE diagnostics at the argument).
#nullable enable
using System;
using System.Collections.Generic;
using System.Globalization;

namespace MaeDsl
{
#if MAEDSL_GENERATOR
    internal
#else
    public
#endif
    static class MaeRules
    {
        public const string NotPartial = "MAE001";
        public const string HeadsDoNotDivideWidth = "MAE002";
        public const string PatchDoesNotDivideImage = "MAE003";
        public const string RatioOutOfRange = "MAE004";
        public const string WidthNotDivisibleBy4 = "MAE005";
        public const string MissingOrNotPositive = "MAE006";
        public const string AttributeMissingOrRepeated = "MAE007";
        public const string GridNeedsThreeQuartersAndEvenGrid = "MAE008";
        public const string MlpHiddenNotInteger = "MAE009";
        public const string RatioOutsidePaperRange = "MAE010";
        public const string DropPathOutOfRange = "MAE011";

        /// <summary>The message format of each id; its arguments are strings.</summary>
        public static string MessageFormat(string id) => id switch
        {
            NotPartial => "'{0}' {1}; declare it as a non-generic 'partial class' outside generic types",
            HeadsDoNotDivideWidth => "{0} Width {1} is not divisible by Heads {2}; {3}",
            PatchDoesNotDivideImage => "Image Size {0} is not divisible by PatchSize {1}; {2}",
            RatioOutOfRange => "Masking Ratio {0} {1}; {2}",
            WidthNotDivisibleBy4 => "{0} Width {1} is not divisible by 4, which the 2D sin-cos position embedding needs; {2}",
            MissingOrNotPositive => "{0}",
            AttributeMissingOrRepeated => "{0}",
            GridNeedsThreeQuartersAndEvenGrid => "{0}",
            MlpHiddenNotInteger => "{0} Width {1} × MlpRatio {2} = {3} is not an integer; {4}",
            RatioOutsidePaperRange => "Masking Ratio {0} lies outside 0.4–0.8, where the paper found random-masking MAE to work best (Fig. 5); 0.75 is its default",
            DropPathOutOfRange => "{0} DropPath {1} is not in [0, 1): a drop-path rate of 1 or more drops every residual branch; the official fine-tune recipe uses 0.1",
            _ => "{0}",
        };

        public static IReadOnlyList<SpecProblem> Check(MaeSpec s)
        {
            var problems = new List<SpecProblem>();
            void Add(string id, string attribute, string argument, params string[] args) =>
                problems.Add(new SpecProblem(id, attribute, argument, args));

            // MAE006: required and positive values.
            bool Positive(string attribute, string argument, double value)
            {
                if (value > 0) return true;
                Add(MissingOrNotPositive, attribute, argument,
                    value == 0 ? $"{attribute}.{argument} is missing or 0; it must be a positive number"
                               : $"{attribute}.{argument} is {S(value)}; it must be positive");
                return false;
            }
            bool image = Positive("Image", "Size", s.ImageSize) & Positive("Image", "PatchSize", s.PatchSize) & Positive("Image", "Channels", s.Channels);
            bool encDepth = Positive("Encoder", "Depth", s.EncoderDepth);
            bool encWidth = Positive("Encoder", "Width", s.EncoderWidth);
            bool encHeads;
            if (s.EncoderHeads == 0 && encWidth)
            {
                Add(MissingOrNotPositive, "Encoder", "Heads",
                    $"Encoder.Heads is required because Width {s.EncoderWidth} is not a multiple of 64 (the default is Width / 64); {HeadSuggestion(s.EncoderWidth)} would fit");
                encHeads = false;
            }
            else encHeads = Positive("Encoder", "Heads", s.EncoderHeads);
            bool encMlp = Positive("Encoder", "MlpRatio", s.EncoderMlpRatio);
            bool decDepth = Positive("Decoder", "Depth", s.DecoderDepth);
            bool decWidth = Positive("Decoder", "Width", s.DecoderWidth);
            bool decHeads = Positive("Decoder", "Heads", s.DecoderHeads);
            bool decMlp = Positive("Decoder", "MlpRatio", s.DecoderMlpRatio);
            _ = encDepth & decDepth;

            // MAE002 / MAE005: widths.
            void Width(string attribute, int width, int heads, bool headsOk)
            {
                if (headsOk && width % heads != 0)
                    Add(HeadsDoNotDivideWidth, attribute, "Width", attribute, I(width), I(heads),
                        $"Width {Nearby(width, Lcm(heads, 4))} would be");
                if (width % 4 != 0)
                    Add(WidthNotDivisibleBy4, attribute, "Width", attribute, I(width), $"{Nearby(width, 4)} would be");
            }
            if (encWidth) Width("Encoder", s.EncoderWidth, s.EncoderHeads, encHeads);
            if (decWidth) Width("Decoder", s.DecoderWidth, s.DecoderHeads, decHeads);

            // MAE009: integral MLP hidden sizes.
            void Mlp(string attribute, int width, double ratio)
            {
                double product = width * ratio;
                if (Math.Abs(product - Math.Round(product)) > 1e-9)
                {
                    double nearby = Math.Round(product) / width;
                    Add(MlpHiddenNotInteger, attribute, "MlpRatio", attribute, I(width), S(ratio), S(product),
                        $"MlpRatio {S(nearby)} (hidden size {S(Math.Round(product))}) would be");
                }
            }
            if (encWidth && encMlp) Mlp("Encoder", s.EncoderWidth, s.EncoderMlpRatio);
            if (decWidth && decMlp) Mlp("Decoder", s.DecoderWidth, s.DecoderMlpRatio);

            // MAE011: drop path.
            if (s.DropPath < 0 || s.DropPath >= 1)
                Add(DropPathOutOfRange, "Encoder", "DropPath", "Encoder", S(s.DropPath));

            // MAE003: patches tile the image.
            bool tiled = image && s.ImageSize % s.PatchSize == 0;
            if (image && !tiled)
            {
                int lower = s.ImageSize / s.PatchSize * s.PatchSize;
                string sizes = lower > 0 ? $"Size {I(lower)} or {I(lower + s.PatchSize)}" : $"Size {I(s.PatchSize)}";
                Add(PatchDoesNotDivideImage, "Image", "Size", I(s.ImageSize), I(s.PatchSize), $"{sizes} would be");
            }

            // MAE004: a ratio in (0, 1) that leaves at least one visible patch.
            bool ratioOk = s.MaskRatio > 0 && s.MaskRatio < 1;
            if (!ratioOk)
                Add(RatioOutOfRange, "Masking", "Ratio", S(s.MaskRatio), "is not in (0, 1)", "the paper's default is 0.75");
            else if (tiled && KeptOf(s) < 1)
                Add(RatioOutOfRange, "Masking", "Ratio", S(s.MaskRatio),
                    $"leaves no visible patch of the {I(s.NumPatches)}: (int)({I(s.NumPatches)} × (1 − {S(s.MaskRatio)})) = 0",
                    $"a ratio of at most {S(1.0 - 1.0 / s.NumPatches)} would leave one");

            // MAE008: grid masking.
            if (s.Masking == MaskingStrategy.Grid)
            {
                if (ratioOk && Math.Abs(s.MaskRatio - 0.75) > 1e-12)
                    Add(GridNeedsThreeQuartersAndEvenGrid, "Masking", "Ratio",
                        $"Grid masking keeps one patch of every 2×2, so it removes exactly 0.75 of them; Ratio {S(s.MaskRatio)} is not 0.75: use Ratio = 0.75 or Strategy = Random");
                if (tiled && s.GridSize % 2 != 0)
                    Add(GridNeedsThreeQuartersAndEvenGrid, "Masking", "Strategy",
                        $"Grid masking needs an even grid, but Size {I(s.ImageSize)} / PatchSize {I(s.PatchSize)} gives {I(s.GridSize)}×{I(s.GridSize)} patches; {EvenGridSuggestion(s)} would give an even grid");
            }

            // MAE010: outside the paper's sweet spot (random masking only; block masking is studied at 50%).
            if (ratioOk && s.Masking == MaskingStrategy.Random && (s.MaskRatio < 0.4 || s.MaskRatio > 0.8) && !(tiled && KeptOf(s) < 1))
                Add(RatioOutsidePaperRange, "Masking", "Ratio", S(s.MaskRatio));

            return problems;
        }

        static int KeptOf(MaeSpec s) => MaeSpec.KeptPatches(s.NumPatches, s.MaskRatio);

        static string EvenGridSuggestion(MaeSpec s)
        {
            int g = s.GridSize;
            return $"Size {I((g - 1) * s.PatchSize)} or {I((g + 1) * s.PatchSize)}";
        }

        /// <summary>"992 or 1008": the multiples of m next to value (only the upper one if the lower is 0).</summary>
        static string Nearby(int value, int m)
        {
            int lower = value / m * m, upper = lower + m;
            return lower > 0 ? $"{I(lower)} or {I(upper)}" : I(upper);
        }

        static string HeadSuggestion(int width)
        {
            var divisors = new List<int>();
            for (int h = 1; h <= width && divisors.Count < 64; h++)
                if (width % h == 0 && width / h >= 16 && (width / h) <= 128) divisors.Add(h);
            if (divisors.Count == 0) return "a divisor of Width, such as Heads = 1,";
            int best = divisors[0];
            foreach (int h in divisors) if (Math.Abs(width / h - 64) < Math.Abs(width / best - 64)) best = h;
            return $"Heads = {I(best)} (head dim {I(width / best)})";
        }

        static int Lcm(int a, int b) { int x = a, y = b; while (y != 0) (x, y) = (y, x % y); return a / x * b; }
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        static string S(double v) => v.ToString("0.############", CultureInfo.InvariantCulture);
    }
}
