namespace MaeDsl.Generators
{
    /// <summary>The names of the generator's pipeline steps, so that tests can check each one is cached.</summary>
    public static class TrackingNames
    {
        /// <summary>Classes with [Encoder], read into a <c>ModelToGenerate</c> (null when the class has an MAE error).</summary>
        public const string InitialExtraction = nameof(InitialExtraction);

        /// <summary>The models that can be generated.</summary>
        public const string RemovingNulls = nameof(RemovingNulls);
    }
}
