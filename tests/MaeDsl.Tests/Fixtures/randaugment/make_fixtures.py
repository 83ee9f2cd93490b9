#!/usr/bin/python3
# make_fixtures.py: the RandAugment fixtures of tests/MaeDsl.Tests/Data/RandAugmentTests.cs, made by running timm's own
# auto_augment.py (each operation and each magnitude-to-argument function) on small fixed images.
#
# Run with Debian 12's /usr/bin/python3 (python3-pil 9.4.0, python3-numpy 1.24.2); timm itself is not installed, only
# its file is loaded:
#   /usr/bin/python3 make_fixtures.py <path of timm/data/auto_augment.py> [output folder, default: this script's folder]
# Recorded against huggingface/pytorch-image-models commit aa4b5850c1543fa488abf260f18390eda46cf85d (2026-08-08),
# `git show HEAD:timm/data/auto_augment.py`.
#
# Writes:
#   cases.tsv     one line per input image  `input <name> <mode> <width> <height> <offset>` and per case
#                 `case <image> <op> <magnitude> <negate> <argument> <offset>`: timm's operation <op> (a name of
#                 LEVEL_TO_ARG) at <magnitude> (on the 0..10 scale), its signed argument negated when <negate> is 1
#                 (timm's _randomly_negate, forced), <argument> the argument timm's level function gave (repr, "-" for none);
#   pixels.bin.gz every image's bytes (PIL's tobytes(): rows of interleaved channels) at its <offset>, gzip-compressed.
# Geometric operations get timm's hparams as main_finetune.py sets them through create_transform: fillcolor = img_mean =
# round(255 × IMAGENET_DEFAULT_MEAN) = (124, 116, 104) and resample = BICUBIC (interpolation='bicubic'); the grey image
# gets fill 73 = round(255 × 0.2860), Fashion-MNIST's mean, by the same rule.
import gzip
import importlib.util
import os
import sys

import numpy as np
from PIL import Image

if len(sys.argv) < 2:
    sys.exit("usage: make_fixtures.py <timm/data/auto_augment.py> [output folder]")
spec = importlib.util.spec_from_file_location("timm_auto_augment", sys.argv[1])
aa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(aa)   # needs only PIL and numpy
out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))

negate = [False]
aa._randomly_negate = lambda v: -v if negate[0] else v   # the level functions look it up at call time


def images():
    x, y = np.meshgrid(np.arange(32), np.arange(32))
    grad = np.stack([30 + (190 * x) // 31, 20 + (200 * y) // 31, (7 * x + 13 * y) % 256], axis=-1).astype(np.uint8)
    yield "grad32", Image.fromarray(grad, "RGB"), (124, 116, 104)
    rs = np.random.RandomState(0)
    x, y = np.meshgrid(np.arange(24), np.arange(20))
    base = np.where(((x // 4) + (y // 5)) % 2 == 0, 60, 190)[..., None] + np.array([0, 25, -30])
    blob = 90.0 * np.exp(-(((x - 14) / 5.0) ** 2 + ((y - 8) / 4.0) ** 2))[..., None]
    noisy = np.clip(base + blob + rs.randint(-12, 13, size=(20, 24, 3)), 0, 255).astype(np.uint8)
    yield "pattern24x20", Image.fromarray(noisy, "RGB"), (124, 116, 104)
    x, y = np.meshgrid(np.arange(28), np.arange(28))
    r = np.sqrt(((x - 13.5) / 9.0) ** 2 + ((y - 13.0) / 12.0) ** 2)
    grey = np.where(r < 1, 80 + 170 * (1 - r) * (1 + 0.3 * np.sin(x)), 0).clip(0, 255).astype(np.uint8)
    yield "grey28", Image.fromarray(grey, "L"), 73


SIGNED = {"Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel",
          "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"}
NO_LEVEL = {"AutoContrast", "Equalize", "Invert"}
# timm's increasing set (what rand-m9-mstd0.5-inc1 draws from) and the plain set's own level functions (inc0)
NAMES = list(dict.fromkeys(aa._RAND_INCREASING_TRANSFORMS + aa._RAND_TRANSFORMS))
MAGNITUDES = [0, 3, 6.4, 9, 10]

blob = bytearray()
lines = []
for name, img, fill in images():
    lines.append(f"input\t{name}\t{img.mode}\t{img.width}\t{img.height}\t{len(blob)}")
    blob += img.tobytes()
    for op in NAMES:
        for magnitude in ([None] if op in NO_LEVEL else MAGNITUDES):
            for neg in ([False, True] if op in SIGNED and magnitude else [False]):
                negate[0] = neg
                level_fn = aa.LEVEL_TO_ARG[op]
                args = level_fn(magnitude, aa._HPARAMS_DEFAULT) if level_fn is not None else ()
                result = aa.NAME_TO_OP[op](img, *args, fillcolor=fill, resample=Image.BICUBIC)
                assert result.mode == img.mode and result.size == img.size
                arg = repr(args[0]) if args else "-"
                lines.append(f"case\t{name}\t{op}\t{'-' if magnitude is None else repr(magnitude)}\t{int(neg)}\t{arg}\t{len(blob)}")
                blob += result.tobytes()

with open(os.path.join(out_dir, "cases.tsv"), "w") as f:
    f.write("\n".join(lines) + "\n")
with gzip.GzipFile(os.path.join(out_dir, "pixels.bin.gz"), "wb", mtime=0) as f:
    f.write(bytes(blob))
print(f"{sum(l.startswith('case') for l in lines)} cases, {len(blob)} bytes")
