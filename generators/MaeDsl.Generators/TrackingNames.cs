namespace MaeDsl.Generators
{
    /// <summary>The names of the generator's pipeline steps, so that tests can check each one is cached.</summary>
    public static class TrackingNames
    {
        /// <summary>Classes with [Encoder], read into a <c>ModelToGenerate</c> (a placeholder when its attributes have an error, null for MAE001).</summary>
        public const string InitialExtraction = nameof(InitialExtraction);

        /// <summary>The models that can be generated.</summary>
        public const string RemovingNulls = nameof(RemovingNulls);

        /// <summary>Each model's registry entry (null for a private or protected nested class).</summary>
        public const string RegistryEntries = nameof(RegistryEntries);

        /// <summary>The collected entries of the assembly, MAE013 problems left out: the registry file's input.</summary>
        public const string Registry = nameof(Registry);
    }
}
