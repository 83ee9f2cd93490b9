namespace MaeDsl.Training;

// Temporary: the data engineer's Seeds helper replaces this when the data branch lands on main.
internal static class Seeds
{
    /// <summary>A 63-bit seed derived from (seed, name, a, b) with SplitMix64 mixing.</summary>
    public static long Derive(long seed, string name, long a, long b)
    {
        ulong h = Mix((ulong)seed);
        foreach (char c in name) h = Mix(h ^ c);
        h = Mix(h ^ (ulong)a);
        h = Mix(h ^ (ulong)b);
        return (long)(h >> 1);
    }

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
