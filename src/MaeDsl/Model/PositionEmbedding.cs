// PositionEmbedding: the fixed 2-D sin-cos position embedding of the official code.
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>The fixed 2D sin-cos position embeddings of the official util/pos_embed.py.</summary>
internal static class PositionEmbedding
{
    /// <summary>
    /// [1 + g², width] in float64: row 0 (cls) is zero; the token at (h, w) is
    /// [sin(w·ω) | cos(w·ω) | sin(h·ω) | cos(h·ω)] with ω_i = 1 / 10000^(i / (width/4)), i &lt; width/4.
    /// </summary>
    public static Tensor SinCos2D(int width, int gridSize)
    {
        if (width % 4 != 0) throw new ArgumentException($"width must be divisible by 4 for 2D sin-cos position embeddings, got {width}", nameof(width));
        int quarter = width / 4;
        var table = new double[(1 + gridSize * gridSize) * width];
        for (int h = 0; h < gridSize; h++)
            for (int w = 0; w < gridSize; w++)
            {
                int row = (1 + h * gridSize + w) * width;
                for (int i = 0; i < quarter; i++)
                {
                    double omega = 1.0 / Math.Pow(10000, (double)i / quarter);
                    table[row + i] = Math.Sin(w * omega);
                    table[row + quarter + i] = Math.Cos(w * omega);
                    table[row + 2 * quarter + i] = Math.Sin(h * omega);
                    table[row + 3 * quarter + i] = Math.Cos(h * omega);
                }
            }
        return tensor(table, [1 + gridSize * gridSize, width], dtype: float64);
    }
}
