using MaeDsl.Evaluation;
using MaeDsl.Tests.Training;

namespace MaeDsl.Tests.Evaluation;

[Collection(NoGcRegionCollection.Name)]
public class KnnTests
{
    static Tensor Unit(params float[][] rows) => Knn.Normalize(torch.tensor(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length));

    [Fact]
    public void WeightedVotesBeatAPlainMajority()
    {
        // Query (1, 0). Neighbours: one of class 1 at cosine 1.0, two of class 0 at cosine 0.8 each.
        // Weights exp(1/0.07) ≈ 1.6e6 vs 2 × exp(0.8/0.07) ≈ 1.8e5: class 1 wins, though class 0 has the majority.
        using var bank = Unit([1f, 0f], [0.8f, 0.6f], [0.8f, -0.6f], [-1f, 0f]);
        using var labels = torch.tensor(new long[] { 1, 0, 0, 2 });
        using var query = Unit([1f, 0f]);
        using var predicted = Knn.Predict(bank, labels, query, numClasses: 3, k: 3);
        Assert.Equal(1L, predicted[0].item<long>());
        // With a high temperature the weights are nearly equal and the majority (class 0) wins.
        using var flat = Knn.Predict(bank, labels, query, numClasses: 3, k: 3, temperature: 100);
        Assert.Equal(0L, flat[0].item<long>());
    }

    [Fact]
    public void OnlyTheKNearestVote()
    {
        // Two class-0 points close to the query and four class-1 points farther away: k = 2 → class 0, k = 6 → class 1 (T large).
        using var bank = Unit([1f, 0.05f], [1f, -0.05f], [0.5f, 1f], [0.5f, -1f], [0.4f, 1f], [0.4f, -1f]);
        using var labels = torch.tensor(new long[] { 0, 0, 1, 1, 1, 1 });
        using var query = Unit([1f, 0f]);
        Assert.Equal(0L, Knn.Predict(bank, labels, query, 2, k: 2, temperature: 100)[0].item<long>());
        Assert.Equal(1L, Knn.Predict(bank, labels, query, 2, k: 6, temperature: 100)[0].item<long>());
    }

    [Fact]
    public void ChunkingDoesNotChangePredictions()
    {
        var g = new torch.Generator(7);
        using var bank = Knn.Normalize(torch.randn(300, 16, generator: g));
        using var labels = torch.randint(0, 5, [300], generator: g);
        using var queries = Knn.Normalize(torch.randn(137, 16, generator: g));
        using var whole = Knn.Predict(bank, labels, queries, 5, chunk: 1000);
        using var chunked = Knn.Predict(bank, labels, queries, 5, chunk: 10);
        Assert.True(whole.eq(chunked).all().item<bool>());
    }

    [Fact]
    public void SeparableClustersAreClassifiedPerfectlyOnRawPixels()
    {
        // Three "image" classes around three random prototypes; raw-pixel k-NN must get all queries right.
        var g = new torch.Generator(1);
        using var prototypes = torch.randn(3, 1, 4, 4, generator: g);
        (Tensor, Tensor) Batch(int n)
        {
            var y = torch.arange(n) % 3;
            var x = prototypes[y] + 0.05f * torch.randn(n, 1, 4, 4, generator: g);
            return (x, y);
        }
        var bank = new[] { Batch(30), Batch(30) };
        var queries = new[] { Batch(20) };
        var result = Knn.Evaluate(Knn.RawPixels, bank, queries, numClasses: 3);
        Assert.Equal(1.0, result.Accuracy);
        Assert.Equal(20, result.Total);
        Assert.Equal(60, result.MemoryBankSize);
    }

    [Fact]
    public void PatchTokenMeanDropsTheClsToken()
    {
        using var latent = torch.tensor(new float[] { 100, 100, 1, 2, 3, 4 }, 1, 3, 2); // cls (100,100), patches (1,2), (3,4)
        using var f = Knn.PatchTokenMean(latent);
        Assert.Equal(new float[] { 2, 3 }, f.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => Knn.PatchTokenMean(torch.zeros(2, 5)));
    }

    [Fact]
    public void BadLabelsAreRejectedWithTheirRange()
    {
        using var bank = Unit([1f, 0f], [0f, 1f]);
        using var labels = torch.tensor(new long[] { 0, 7 });
        var e = Assert.Throws<ArgumentException>(() => Knn.Predict(bank, labels, bank, numClasses: 3));
        Assert.Contains("[0, 3)", e.Message);
    }
}
