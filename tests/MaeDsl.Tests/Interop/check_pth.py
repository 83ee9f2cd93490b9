"""PyTorch's side of the MaeDsl interop test (run by PytorchInteropTests with Debian's python3-torch).

  check_pth.py read OURS.pth OFFICIAL_CHECKPOINT.pth
      torch.load our flat state_dict and compare it with the official checkpoint's 'model' entry:
      same keys, shapes, dtypes and values (exactly).
  check_pth.py write OFFICIAL_CHECKPOINT.pth OUT.pth
      write the official 'model' entry as a flat state_dict, scaled by 2, for MaeDsl to load.
"""
import sys
import torch


def main():
    mode, a, b = sys.argv[1:4]
    official = torch.load(a if mode == "write" else b, map_location="cpu")["model"]
    if mode == "write":
        torch.save({k: v * 2 for k, v in official.items()}, b)
        print(f"wrote {len(official)} tensors to {b}")
        return 0
    ours = torch.load(a, map_location="cpu")
    problems = []
    for k in sorted(set(official) - set(ours)):
        problems.append(f"missing {k}")
    for k in sorted(set(ours) - set(official)):
        problems.append(f"unexpected {k}")
    for k in sorted(set(ours) & set(official)):
        x, y = ours[k], official[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            problems.append(f"{k}: ours {tuple(x.shape)} {x.dtype}, official {tuple(y.shape)} {y.dtype}")
        elif not torch.equal(x, y):
            problems.append(f"{k}: values differ (max |d| {(x - y).abs().max().item()})")
    if problems:
        print("MISMATCH\n" + "\n".join(problems))
        return 1
    print(f"OK {len(ours)} tensors equal (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
