// The rules an MAE configuration must follow, with their messages. Shared, like MaeSpec.cs, by the
// runtime (which throws) and the generator's analyzer (which reports MAE diagnostics at the argument).
#nullable enable
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MaeDsl
{
    internal static class MaeRules
    {
        public const string NotPartial = "MAE001";
        public const string HeadsDoNotDivideWidth = "MAE002";
        public const string PatchDoesNotDivideImage = "MAE003";
        public const string RatioOutOfRange = "MAE004";
        public const string WidthNotDivisibleBy4 = "MAE005";
        public const string MissingOrNotPositive = "MAE006";
        public const string MissingCompanion = "MAE007";
        public const string GridNeedsThreeQuartersAndEvenGrid = "MAE008";
        public const string MlpHiddenNotInteger = "MAE009";
        public const string RatioOutsidePaperRange = "MAE010";
        public const string DropPathOutOfRange = "MAE011";
        public const string NotBuildable = "MAE012";
        public const string RegistryConflict = "MAE013";

        /// <summary>The message format of each id; its arguments are strings.</summary>
        public static string MessageFormat(string id) => id switch
        {
            NotPartial => "'{0}' {1}; {2}",
            HeadsDoNotDivideWidth => "{0} Width {1} is not divisible by Heads {2}; {3}",
            PatchDoesNotDivideImage => "Image Size {0} is not divisible by PatchSize {1}; {2}",
            RatioOutOfRange => "Masking Ratio {0} {1}; {2}",
            WidthNotDivisibleBy4 => "{0} Width {1} is not divisible by 4, which the 2D sin-cos position embedding needs; {2}",
            MissingOrNotPositive => "{0}",
            MissingCompanion => "{0}",
            GridNeedsThreeQuartersAndEvenGrid => "{0}",
            MlpHiddenNotInteger => "{0} Width {1} × MlpRatio {2} = {3} is not an integer; {4}",
            RatioOutsidePaperRange
                => "Masking Ratio {0} lies outside 0.4–0.8, where the paper found random-masking MAE to work best (Fig. 5); 0.75 is its default",
            DropPathOutOfRange => "{0} DropPath {1} is not in [0, 1): a drop-path rate of 1 or more drops every residual branch; the official fine-tune " +
                "recipe uses 0.1",
            NotBuildable => "{0}",
            RegistryConflict => "{0}",
            _ => "{0}",
        };

        // ---- rules about the declaration and the attribute set (the analyzer and the generator check these
        //      on the class; the numbers are checked by Check below) ----

        /// <summary>MAE001: the class cannot take the generated partial (not partial, generic, static, ...).</summary>
        public static SpecProblem Declaration(string className, string reason, string fix) =>
            new SpecProblem(NotPartial, "", "", new[] { className, reason, fix });

        /// <summary>The attribute MAE007 suggests for a missing half: the official ViT-B encoder, the paper's default decoder (8 blocks of 512).</summary>
        static string Suggested(string attribute) => attribute == "Decoder" ? "Decoder(Depth = 8, Width = 512)" : "Encoder(Depth = 12, Width = 768)";

        /// <summary>
        /// MAE007: [Encoder] without [Decoder], or the reverse, or neither with another MAE attribute (<paramref name="missing"/> both);
        /// present blames the attribute that is there. The code fix adds each missing one with the suggested values ("+Decoder(...)").
        /// </summary>
        public static SpecProblem AttributeMissing(string present, params string[] missing) =>
            new SpecProblem(MissingCompanion, present, "", new[]
            {
                $"[{present}] needs {string.Join(" and ", missing.Select(m => $"[{m}]"))}: an MAE has an encoder and a decoder; "
                + $"add {string.Join(" and ", missing.Select(m => $"[{Suggested(m)}]"))}",
            }) { Fixes = new[] { "+" + string.Join("+", missing.Select(Suggested)) } };

        // ---- the model registry (MAE013): keys and the default model, checked over all models of one assembly ----

        /// <summary>
        /// The registry key of a class without <c>[MaeModel(Key = ...)]</c>: its name in kebab case. Characters other
        /// than letters and digits separate words and are dropped; a word starts at an upper-case letter that follows
        /// a lower-case letter or a digit (<c>MaeVit</c> → mae-vit, <c>Vit16Base</c> → vit16-base), or that follows an
        /// upper-case letter and comes before a lower-case one (<c>HTTPServer</c> → http-server); digits stay with the
        /// word before them (<c>MaeVitBase16</c> → mae-vit-base16); every word is lower-cased (invariant culture).
        /// </summary>
        public static string ModelKey(string className)
        {
            var key = new System.Text.StringBuilder(className.Length + 8);
            bool pendingSeparator = false;
            for (int i = 0; i < className.Length; i++)
            {
                char c = className[i];
                if (!char.IsLetterOrDigit(c)) { pendingSeparator = key.Length > 0; continue; }
                if (char.IsUpper(c) && i > 0)
                {
                    char before = className[i - 1];
                    bool after = i + 1 < className.Length && char.IsLower(className[i + 1]);
                    if (char.IsLower(before) || char.IsDigit(before) || (char.IsUpper(before) && after))
                        pendingSeparator = key.Length > 0;
                }
                if (pendingSeparator) key.Append('-');
                pendingSeparator = false;
                key.Append(char.ToLowerInvariant(c));
            }
            return key.ToString();
        }

        /// <summary>A registry key: words of lower-case ASCII letters and digits joined by single hyphens, ^[a-z0-9]+(-[a-z0-9]+)*$.</summary>
        public static bool IsValidModelKey(string key)
        {
            if (key.Length == 0 || key[0] == '-' || key[key.Length - 1] == '-') return false;
            for (int i = 0; i < key.Length; i++)
            {
                char c = key[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && key[i - 1] != '-');
                if (!ok) return false;
            }
            return true;
        }

        /// <summary>MAE013: a key that is not ^[a-z0-9]+(-[a-z0-9]+)*$, given (blames Key) or derived from the class name (blames the class).</summary>
        public static SpecProblem ModelKeyInvalid(string className, string key, bool given)
        {
            string suggestion = KeySuggestion(key);
            if (!IsValidModelKey(suggestion)) suggestion = "my-model";
            string rule = "a key is lower-case letters and digits, in words joined by single '-' (^[a-z0-9]+(-[a-z0-9]+)*$)";
            return new SpecProblem(RegistryConflict, given ? "MaeModel" : "", "Key", new[]
            {
                given ? $"Model key '{key}' of '{className}' is not valid: {rule}; Key = \"{suggestion}\" would be"
                      : $"The model key '{key}' derived from the class name '{className}' is not valid: {rule}; give one with [MaeModel(Key = " +
                          $"\"{suggestion}\")]",
            }) { Fixes = new[] { $"MaeModel.Key=\"{suggestion}\"" } };   // a derived key: the fix adds [MaeModel(Key = ...)]
        }

        /// <summary>MAE013: two models of one assembly with the same key; each is blamed, naming the others ("'A' and 'B'").</summary>
        public static SpecProblem ModelKeyTaken(string className, string key, string otherFullNames, bool given) =>
            new SpecProblem(RegistryConflict, given ? "MaeModel" : "", "Key", new[]
            {
                $"Model key '{key}' of '{className}' is also the key of {otherFullNames}; the models of one assembly need different keys: give one of them " +
                    $"[MaeModel(Key = \"...\")]",
            });

        /// <summary>MAE013: more than one model marked <c>[MaeModel(Default = true)]</c>; each is blamed, naming the others ("'A' and 'B'").</summary>
        public static SpecProblem SecondDefaultModel(string className, string otherFullNames) =>
            new SpecProblem(RegistryConflict, "MaeModel", "Default", new[]
            {
                $"'{className}' is marked Default = true, and so is {otherFullNames}; an application has one default model: keep Default = true on one of them",
            }) { Fixes = new[] { "MaeModel.Default=false" } };   // offered at each model: the user picks the one that stops being the default

        /// <summary>MAE013: a model whose key is also the key of a model in a referenced assembly ("'MaeDsl.Presets.MaeVitBase16' of MaeDsl").</summary>
        public static SpecProblem ModelKeyTakenByReference(string className, string key, string otherModel, bool given) =>
            new SpecProblem(RegistryConflict, given ? "MaeModel" : "", "Key", new[]
            {
                $"Model key '{key}' of '{className}' is also the key of {otherModel}, which this assembly references; --model '{key}' would be ambiguous: "
                + (given ? "give it another Key" : "give it another key with [MaeModel(Key = \"...\")]"),
            });

        /// <summary>MAE013, on a compilation with no model of its own to blame: two of its references declare the same key.</summary>
        public static SpecProblem ReferencedKeysCollide(string key, string models) =>
            new SpecProblem(RegistryConflict, "", "", new[]
            {
                $"Model key '{key}' is declared by {models}, which this assembly references; --model '{key}' would be ambiguous: change the key in one of them",
            });

        /// <summary>MAE013: more than one model of the application marked default, across assemblies.</summary>
        public static SpecProblem ReferencedDefaultsCollide(string models) =>
            new SpecProblem(RegistryConflict, "", "", new[]
            {
                $"{models} are each marked [MaeModel(Default = true)]; an application has one default model: keep Default = true on one of them",
            });

        /// <summary>"ViT_B16 " → "vit-b16": lower case, every run of other characters one hyphen.</summary>
        static string KeySuggestion(string key)
        {
            var text = new System.Text.StringBuilder(key.Length);
            foreach (char c in key.ToLowerInvariant())
            {
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (ok) text.Append(c);
                else if (text.Length > 0 && text[text.Length - 1] != '-') text.Append('-');
            }
            return text.ToString().TrimEnd('-');
        }

        public static IReadOnlyList<SpecProblem> Check(MaeSpec s)
        {
            var problems = new List<SpecProblem>();
            void Add(string id, string attribute, string argument, params string[] args) =>
                problems.Add(new SpecProblem(id, attribute, argument, args));
            // the same, with the edits a code fix offers ("Encoder.Width=992")
            void AddFixable(IEnumerable<string> fixes, string id, string attribute, string argument, params string[] args) =>
                problems.Add(new SpecProblem(id, attribute, argument, args) { Fixes = fixes.ToArray() });

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
            if (s.EncoderHeads == 0)
            {
                // Heads 0 is "not given": the reader resolves a missing Heads to Width / 64 when it can.
                // Without a valid Width there is nothing to resolve and the Width error says enough.
                if (encWidth)
                    AddFixable(SuggestedHeads(s.EncoderWidth) is int h ? new[] { $"Encoder.Heads={I(h)}" } : new string[0],
                        MissingOrNotPositive, "Encoder", "Heads", MaeSpec.DefaultHeads(s.EncoderWidth) == 0
                        ? $"Encoder.Heads is required because Width {I(s.EncoderWidth)} is not a multiple of 64 (the default is Width / 64); " +
                            $"{HeadSuggestion(s.EncoderWidth)} would fit"
                        : $"Encoder.Heads is 0; it must be positive (leave it out for the default Width / 64 = {I(MaeSpec.DefaultHeads(s.EncoderWidth))})");
                encHeads = false;
            }
            else encHeads = Positive("Encoder", "Heads", s.EncoderHeads);
            bool encMlp = Positive("Encoder", "MlpRatio", s.EncoderMlpRatio);
            bool decDepth = Positive("Decoder", "Depth", s.DecoderDepth);
            bool decWidth = Positive("Decoder", "Width", s.DecoderWidth);
            bool decHeads = Positive("Decoder", "Heads", s.DecoderHeads);
            bool decMlp = Positive("Decoder", "MlpRatio", s.DecoderMlpRatio);
            _ = encDepth & decDepth;

            // MAE012: values no model can be built with (the generated constants are ints, the count a long).
            if (!Enum.IsDefined(typeof(MaskingStrategy), s.Masking))
                AddFixable(new[] { "Random", "Block", "Grid" }.Select(v => $"Masking.Strategy=global::MaeDsl.MaskingStrategy.{v}"), NotBuildable, "Masking",
                    "Strategy",
                    $"Masking Strategy {((int)s.Masking).ToString(CultureInfo.InvariantCulture)} is not a MaskingStrategy; use Random, Block or Grid");
            bool sizesFit = true;
            if (image)
            {
                double grid = Math.Floor((double)s.ImageSize / s.PatchSize);
                if (grid * grid > int.MaxValue)
                {
                    sizesFit = false;
                    Add(NotBuildable, "Image", "Size",
                        $"Image Size {I(s.ImageSize)} / PatchSize {I(s.PatchSize)} gives {S(grid)}×{S(grid)} patches, more than an int counts; use a larger " +
                            $"PatchSize or a smaller Size");
                }
                double patchDim = (double)s.PatchSize * s.PatchSize * s.Channels;
                if (patchDim > int.MaxValue)
                {
                    sizesFit = false;
                    Add(NotBuildable, "Image", "PatchSize",
                        $"PatchSize {I(s.PatchSize)}² × Channels {I(s.Channels)} = {S(patchDim)} pixels per patch, more than an int counts");
                }
            }
            foreach (var (attribute, width, ratio, ok) in new[] { ("Encoder", s.EncoderWidth, s.EncoderMlpRatio, encWidth && encMlp), ("Decoder",
                s.DecoderWidth, s.DecoderMlpRatio, decWidth && decMlp) })
            {
                if (ok && !(width * ratio <= int.MaxValue))
                {
                    sizesFit = false;
                    Add(NotBuildable, attribute, "MlpRatio",
                        $"{attribute} Width {I(width)} × MlpRatio {S(ratio)} = {S(width * ratio)} is too large for an MLP hidden size (at most " +
                            $"{I(int.MaxValue)})");
                }
            }
            if (sizesFit && image && encWidth && decWidth && encDepth && decDepth && encMlp && decMlp && ParameterMagnitude(s) > long.MaxValue / 4)
            {
                sizesFit = false;
                Add(NotBuildable, "Encoder", "Width",
                    $"the model would have about {ParameterMagnitude(s).ToString("0.#e0", CultureInfo.InvariantCulture)} parameters, more than a long " +
                        $"counts; use smaller widths or depths");
            }

            // MAE002 / MAE005: widths.
            void Width(string attribute, int width, int heads, bool headsOk)
            {
                if (headsOk && width % heads != 0)
                    AddFixable(NearbyValues(width, Lcm(heads, 4)).Select(v => $"{attribute}.Width={L(v)}"), HeadsDoNotDivideWidth, attribute, "Width",
                        attribute, I(width), I(heads), $"Width {Nearby(width, Lcm(heads, 4))} would be");
                if (width % 4 != 0)
                    AddFixable(NearbyValues(width, 4).Select(v => $"{attribute}.Width={L(v)}"), WidthNotDivisibleBy4, attribute, "Width",
                        attribute, I(width), $"{Nearby(width, 4)} would be");
            }
            if (encWidth) Width("Encoder", s.EncoderWidth, s.EncoderHeads, encHeads);
            if (decWidth) Width("Decoder", s.DecoderWidth, s.DecoderHeads, decHeads);

            // MAE009: integral MLP hidden sizes.
            void Mlp(string attribute, int width, double ratio)
            {
                double product = width * ratio;
                if (!(product <= int.MaxValue)) return; // MAE012 has reported it
                if (!(Math.Abs(product - Math.Round(product)) <= 1e-9))
                {
                    double hidden = Math.Max(1, Math.Round(product));
                    AddFixable(new[] { $"{attribute}.MlpRatio={S(hidden / width)}" }, MlpHiddenNotInteger, attribute, "MlpRatio",
                        attribute, I(width), S(ratio), S(product), $"MlpRatio {S(hidden / width)} (hidden size {S(hidden)}) would be");
                }
            }
            if (encWidth && encMlp) Mlp("Encoder", s.EncoderWidth, s.EncoderMlpRatio);
            if (decWidth && decMlp) Mlp("Decoder", s.DecoderWidth, s.DecoderMlpRatio);

            // MAE011: drop path.
            if (!(s.DropPath >= 0 && s.DropPath < 1)) // NaN too
                AddFixable(new[] { "Encoder.DropPath=0.1" }, DropPathOutOfRange, "Encoder", "DropPath", "Encoder", S(s.DropPath));

            // MAE003: patches tile the image.
            bool tiled = image && sizesFit && s.ImageSize % s.PatchSize == 0;
            if (image && s.ImageSize % s.PatchSize != 0)
            {
                long lower = s.ImageSize / s.PatchSize * (long)s.PatchSize;
                string sizes = lower > 0 ? $"Size {L(lower)} or {L(lower + s.PatchSize)}" : $"Size {I(s.PatchSize)}";
                var fixes = (lower > 0 ? new[] { lower, lower + s.PatchSize } : new long[] { s.PatchSize }).Select(v => $"Image.Size={L(v)}").ToList();
                if (DividingPatchSize(s.ImageSize, s.PatchSize) is int p) fixes.Add($"Image.PatchSize={I(p)}");
                AddFixable(fixes, PatchDoesNotDivideImage, "Image", "Size", I(s.ImageSize), I(s.PatchSize), $"{sizes} would be");
            }

            // MAE004: a ratio in (0, 1) that leaves at least one visible patch.
            bool ratioOk = s.MaskRatio > 0 && s.MaskRatio < 1;
            if (!ratioOk)
                AddFixable(new[] { "Masking.Ratio=0.75" }, RatioOutOfRange, "Masking", "Ratio",
                    S(s.MaskRatio), "is not in (0, 1)", "the paper's default is 0.75");
            else if (tiled && KeptOf(s) < 1)
                AddFixable(new[] { $"Masking.Ratio={S(LargestRatioKeepingOne(s.NumPatches))}" }, RatioOutOfRange, "Masking", "Ratio", S(s.MaskRatio),
                    $"leaves no visible patch of the {I(s.NumPatches)}: (int)({I(s.NumPatches)} × (1 − {S(s.MaskRatio)})) = 0",
                    $"a ratio of at most {S(LargestRatioKeepingOne(s.NumPatches))} would leave one");

            // MAE008: grid masking.
            if (s.Masking == MaskingStrategy.Grid)
            {
                if (ratioOk && Math.Abs(s.MaskRatio - 0.75) > 1e-12)
                    AddFixable(new[] { "Masking.Ratio=0.75" }, GridNeedsThreeQuartersAndEvenGrid, "Masking", "Ratio",
                        $"Grid masking keeps one patch of every 2×2, so it removes exactly 0.75 of them; Ratio {S(s.MaskRatio)} is not 0.75: use Ratio = " +
                            $"0.75 or Strategy = Random");
                if (tiled && s.GridSize % 2 != 0)
                    AddFixable(new[] { (s.GridSize - 1L) * s.PatchSize, (s.GridSize + 1L) * s.PatchSize }
                            .Where(v => v > 0 && v <= int.MaxValue).Select(v => $"Image.Size={L(v)}"),
                        GridNeedsThreeQuartersAndEvenGrid, "Masking", "Strategy",
                        $"Grid masking needs an even grid, but Size {I(s.ImageSize)} / PatchSize {I(s.PatchSize)} gives {I(s.GridSize)}×{I(s.GridSize)} " +
                            $"patches; {EvenGridSuggestion(s)} would give an even grid");
            }

            // MAE010: outside the paper's sweet spot (random masking only; block masking is studied at 50%).
            if (ratioOk && s.Masking == MaskingStrategy.Random && (s.MaskRatio < 0.4 || s.MaskRatio > 0.8) && !(tiled && KeptOf(s) < 1))
                AddFixable(new[] { "Masking.Ratio=0.75" }, RatioOutsidePaperRange, "Masking", "Ratio", S(s.MaskRatio));

            return problems;
        }

        static int KeptOf(MaeSpec s) => MaeSpec.KeptPatches(s.NumPatches, s.MaskRatio);

        /// <summary>1 − 1/n as printed (12 decimals), rounded down until the printed number itself keeps a patch: 49 patches give
        /// 0.979591836734, since 0.979591836735 (1 − 1/49 rounded to nearest) keeps none.</summary>
        static double LargestRatioKeepingOne(int numPatches)
        {
            double step = 1e-12, ratio = Math.Floor((1.0 - 1.0 / numPatches) / step) * step;
            if (MaeSpec.KeptPatches(numPatches, 1.0 - 1.0 / numPatches) >= 1
                && MaeSpec.KeptPatches(numPatches, double.Parse(S(1.0 - 1.0 / numPatches), CultureInfo.InvariantCulture)) >= 1)
                return 1.0 - 1.0 / numPatches;
            while (ratio > 0 && MaeSpec.KeptPatches(numPatches, double.Parse(S(ratio), CultureInfo.InvariantCulture)) < 1) ratio -= step;
            return ratio;
        }

        static string EvenGridSuggestion(MaeSpec s)
        {
            int g = s.GridSize;
            return $"Size {L((g - 1L) * s.PatchSize)} or {L((g + 1L) * s.PatchSize)}";
        }

        /// <summary>"992 or 1008": the multiples of m next to value (only the upper one if the lower is 0).</summary>
        static string Nearby(long value, long m) => string.Join(" or ", NearbyValues(value, m).Select(L));

        /// <summary>The multiples of m next to value, within an int (only the upper one if the lower is 0).</summary>
        static IEnumerable<long> NearbyValues(long value, long m)
        {
            long lower = value / m * m, upper = lower + m;
            if (lower > 0) yield return lower;
            if (upper <= int.MaxValue || lower <= 0) yield return upper;
        }

        /// <summary>The divisor of Size nearest PatchSize (at least 2, less than Size), preferring the smaller on a tie; null when Size is prime.</summary>
        static int? DividingPatchSize(int size, int patch)
        {
            for (int d = 1; d < size; d++)
            {
                foreach (int candidate in new[] { patch - d, patch + d })
                    if (candidate >= 2 && candidate < size && size % candidate == 0) return candidate;
                if (patch - d < 2 && patch + d >= size) break;
            }
            return null;
        }

        /// <summary>The heads of <see cref="HeadSuggestion"/>, or null when none fits.</summary>
        static int? SuggestedHeads(int width)
        {
            int best = 0;
            for (int dim = 16; dim <= 128 && dim <= width; dim++)
                if (width % dim == 0 && (best == 0 || Math.Abs(dim - 64) < Math.Abs(best - 64))) best = dim;
            return best == 0 ? null : width / best;
        }

        /// <summary>The heads whose head dim (16–128) is closest to the usual 64.</summary>
        static string HeadSuggestion(int width) =>
            SuggestedHeads(width) is int heads ? $"Heads = {I(heads)} (head dim {I(width / heads)})" : "a divisor of Width, such as Heads = 1,";

        /// <summary>The leading terms of the parameter count, in double: a bound check that cannot overflow.</summary>
        static double ParameterMagnitude(MaeSpec s)
        {
            double w = s.EncoderWidth, d = s.DecoderWidth, p = (double)s.PatchSize * s.PatchSize * s.Channels;
            double wh = w * s.EncoderMlpRatio, dh = d * s.DecoderMlpRatio;
            return s.EncoderDepth * (4 * w * w + 2 * w * wh) + s.DecoderDepth * (4 * d * d + 2 * d * dh) + p * w + w * d + d * p;
        }

        static long Lcm(long a, long b) { long x = a, y = b; while (y != 0) (x, y) = (y, x % y); return a / x * b; }
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        static string L(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string S(double v) => v.ToString("0.############", CultureInfo.InvariantCulture);
    }
}
