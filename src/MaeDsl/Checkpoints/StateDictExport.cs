using TorchSharp;
using TorchSharp.PyBridge;

namespace MaeDsl.Checkpoints;

// Temporary bridge until the lead's StateDicts lands on main: writes the model's state_dict
// (official key names) as .safetensors with TorchSharp.PyBridge.
internal static class StateDictExport
{
    public static void SaveSafetensors(torch.nn.Module model, string path) => model.save_safetensors(path);
}
