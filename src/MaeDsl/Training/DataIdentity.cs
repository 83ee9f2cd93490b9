// DataIdentity: what config.json's "inputs" records of a training set (image count, class names), checked on resume.
using System.Text.Json.Nodes;
using MaeDsl.Data;

namespace MaeDsl.Training;

/// <summary>A training set's identity as config.json's "inputs" records it; the runner adds the dataset's root ("dataset").</summary>
internal static class DataIdentity
{
    public static JsonObject Of(IImageDataset dataset) => new()
    {
        [OptionClasses.InputKeys.TrainImages] = dataset.Count,
        [OptionClasses.InputKeys.ClassNames] = new JsonArray(dataset.ClassNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
    };
}
