namespace MaeDsl.Tests.FineTune;

/// <summary>
/// Tests that run whole training loops. Drop-path and the runners' manual_seed use torch's global CPU generator,
/// so these run alone (not in parallel with other test classes) to keep them deterministic.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingRunsCollection
{
    public const string Name = "Training runs (torch's global generator)";
}
