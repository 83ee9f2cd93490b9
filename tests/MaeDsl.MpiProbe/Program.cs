// The MPI probe: `mpiexec -n 2 dotnet MaeDsl.MpiProbe.dll <case>`, one case of MaeDsl.Tests/Distributed/MpiTests per launch.
// Each rank checks what it sees and prints "rank r: ok …" (exit 0), or "error: rank r: …" and aborts every rank (exit ≠ 0).
//
//   average      AverageGradients of a small model (a bucket of copies, one gradient reduced in place, a frozen parameter)
//                equals the mean of every rank's gradients computed in this one process
//   collectives  Average, AnyRank, AllEqual, Broadcast, BroadcastInPlace, Checksum, SumInPlace
//   throw        rank 1 fails with an exception: it prints its error line and aborts; rank 0, waiting in a collective, ends
//   kill         rank 1 kills itself (SIGKILL) mid-run; rank 0, averaging gradients in a loop, must end within seconds
//   mismatch     rank 1 has one gradient fewer: both ranks get a DistributedException and abort
using MaeDsl.Distributed;
using TorchSharp;
using static TorchSharp.torch;

var group = ProcessGroup.Start();
try
{
    if (args.Length != 1) throw new ArgumentException("usage: MaeDsl.MpiProbe average|collectives|throw|kill|mismatch");
    string detail = args[0] switch
    {
        "average" => Average(group),
        "collectives" => Collectives(group),
        "throw" => Throw(group),
        "kill" => Kill(group),
        "mismatch" => Mismatch(group),
        _ => throw new ArgumentException($"unknown case '{args[0]}'"),
    };
    Console.WriteLine($"rank {group.Rank}: ok {detail}");
    group.Dispose();
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: rank {group.Rank}: {e.Message.ReplaceLineEndings(" ")}");
    group.Abort(3);
    return 3;
}

// A model of three linear layers: the middle weight (2600² floats, 27 MB) is larger than a bucket, so it is reduced in its
// own memory; the others share a bucket of copies; the last bias is frozen (no gradient on any rank).
static nn.Module<Tensor, Tensor> Model()
{
    manual_seed(11);
    var model = nn.Sequential(nn.Linear(16, 2600), nn.Tanh(), nn.Linear(2600, 2600), nn.Tanh(), nn.Linear(2600, 4));
    model.parameters().Last().requires_grad = false;
    return model;
}

// Rank r's batch: its own inputs, drawn from a generator seeded by r.
static (Tensor X, Tensor Y) Batch(int rank) => (randn([8, 16], generator: new Generator((ulong)(100 + rank))), randn([8, 4], generator: new Generator((ulong)(200 + rank))));

static Tensor[] Gradients(nn.Module<Tensor, Tensor> model, int rank)
{
    model.zero_grad();
    var (x, y) = Batch(rank);
    nn.functional.mse_loss(model.call(x), y).backward();
    return model.parameters().Where(p => p.grad is not null).Select(p => p.grad!.clone()).ToArray();
}

static string Average(IProcessGroup group)
{
    var model = Model();
    // the mean of every rank's gradients, computed here alone
    var all = Enumerable.Range(0, group.Size).Select(r => Gradients(model, r)).ToArray();
    var expected = all[0].Select((_, i) => stack(all.Select(g => g[i]).ToArray()).mean([0])).ToArray();
    var own = Gradients(model, group.Rank);
    group.AverageGradients(model.parameters());
    var averaged = model.parameters().Where(p => p.grad is not null).Select(p => p.grad!).ToArray();
    if (averaged.Length != expected.Length) throw new InvalidOperationException($"{averaged.Length} gradients after averaging, expected {expected.Length}");
    if (model.parameters().Last().grad is not null) throw new InvalidOperationException("the frozen bias has a gradient");
    double worst = averaged.Zip(expected).Max(pair => (pair.First - pair.Second).abs().max().item<float>());
    double moved = averaged.Zip(own).Max(pair => (pair.First - pair.Second).abs().max().item<float>());
    if (worst > 1e-6) throw new InvalidOperationException($"averaged gradients differ from the mean by {worst:g3}");
    if (moved == 0) throw new InvalidOperationException("the gradients did not change: nothing was averaged");
    return $"average: {averaged.Length} gradients, {averaged.Sum(g => g.NumberOfElements)} elements, max |averaged − mean| {worst:g3}, "
        + $"max |averaged − own| {moved:g3}";
}

static string Collectives(IProcessGroup group)
{
    int r = group.Rank, n = group.Size;
    void Expect(bool ok, string what) { if (!ok) throw new InvalidOperationException(what); }
    Expect(group.Average(r) == (n - 1) / 2.0, $"Average(rank) = {group.Average(r)}, expected {(n - 1) / 2.0}");
    Expect(group.AnyRank(r == n - 1), "AnyRank(true on the last rank only) is false");
    Expect(!group.AnyRank(false), "AnyRank(false everywhere) is true");
    Expect(group.AllEqual(42), "AllEqual(42) is false");
    Expect(!group.AllEqual(r), "AllEqual(rank) is true");
    var text = group.Broadcast(r == 0 ? "from rank 0"u8.ToArray() : null);
    Expect(System.Text.Encoding.UTF8.GetString(text) == "from rank 0", $"Broadcast gave '{System.Text.Encoding.UTF8.GetString(text)}'");
    using var weights = full(new long[] { 3, 5 }, (float)r);
    group.BroadcastInPlace([weights], root: n - 1);
    Expect((weights == (float)(n - 1)).all().item<bool>(), "BroadcastInPlace did not copy the root's values");
    Expect(group.AllEqual(ProcessGroup.Checksum([weights])), "the checksums of broadcast weights differ");
    using var counts = full(new long[] { 1000 }, r + 1.0, dtype: float64);
    group.SumInPlace(counts);
    Expect((counts == n * (n + 1) / 2.0).all().item<bool>(), "SumInPlace gave the wrong sum");
    group.Barrier();
    return "collectives";
}

static string Throw(IProcessGroup group)
{
    group.Barrier();
    if (group.Rank == 1) throw new InvalidDataException("a damaged batch (the fault test's failure)");
    for (int i = 0; ; i++) group.AnyRank(false);   // rank 0 waits in collectives until the abort ends it
}

static string Kill(IProcessGroup group)
{
    var model = Model();
    for (int step = 0; ; step++)
    {
        Gradients(model, group.Rank);
        if (group.Rank == 1 && step == 3)
        {
            Console.WriteLine("rank 1: killing itself");   // the test times the other rank's end from this line
            Console.Out.Flush();
            Thread.Sleep(500);   // the launcher forwards the line before the process dies
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }
        group.AverageGradients(model.parameters());
    }
}

static string Mismatch(IProcessGroup group)
{
    var model = Model();
    Gradients(model, group.Rank);
    group.AverageGradients(model.parameters().Skip(group.Rank == 1 ? 1 : 0));
    return "mismatch not detected";
}
