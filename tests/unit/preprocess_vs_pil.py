#!/usr/bin/env python3
"""The runtime's image side against PIL + torchvision, stage by stage.

For synthetic images in every format and mode we decode (drawn here, nothing
downloaded) this compares, through the lg_preprocess_dump driver:

  decode      lg_image_load          vs Image.open(p).convert('RGB')
  resize      lg_image_resize        vs Image.resize((w, h), filter)
  preprocess  lg_preprocess_image    vs timm's eval transform written out with
                                        torchvision (see timm_eval_transform), in
                                        every crop mode (center, squash, border)

and prints, per case, the max |difference|, how many values are not
bit-identical, and OK / NOT OK, so a failure says at which stage it starts.

Every stage must match bit for bit, JPEG included: the runtime decodes JPEG
with the libjpeg-turbo PIL links and PIL's decoder settings (islow IDCT,
fancy upsampling), so its pixels are PIL's. Formats the runtime refuses
(BMP) and decompression bombs must fail with one line naming the file.
"""
import argparse
import math
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image, ImageDraw
from torchvision.transforms import InterpolationMode

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
INCEPTION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

# (out_h, out_w, crop_pct, crop_mode, interpolation, (mean, std))
CONFIGS = [
    (224, 224, 0.875, "center", "bicubic", IMAGENET),
    (224, 224, 0.875, "center", "bilinear", IMAGENET),
    (288, 288, 0.95, "center", "bicubic", INCEPTION),
    (224, 224, 1.0, "center", "bilinear", IMAGENET),
    (240, 240, 0.8, "center", "bicubic", IMAGENET),  # 240 / 0.8 = 300 exactly in decimal
    (160, 192, 0.875, "center", "bicubic", IMAGENET),  # non-square: ResizeKeepRatio
    (192, 160, 0.9, "center", "bilinear", INCEPTION),
    (224, 224, 0.9, "center", "nearest", IMAGENET),
    (256, 256, 1.25, "center", "bicubic", IMAGENET),  # crop > resized: zero padding
]
# The other crop modes, on every picture (most are not square, so
# squash really distorts and border really pads).
CROP_MODE_CONFIGS = [
    (384, 384, 1.0, "squash", "bicubic", IMAGENET),  # the ConvNeXt _384 fine-tunes
    (224, 224, 0.875, "squash", "bilinear", INCEPTION),
    (160, 192, 0.875, "squash", "bicubic", IMAGENET),
    (224, 224, 1.0, "border", "bicubic", IMAGENET),  # pads the shorter side with the mean
    (224, 224, 0.875, "border", "bilinear", INCEPTION),  # crops one side, pads the other
    (192, 160, 0.9, "border", "bicubic", IMAGENET),
]

PIL_FILTER = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
TV_MODE = {
    "nearest": InterpolationMode.NEAREST,
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
}


# --- timm's eval transform, written out -----------------------------------
class ResizeKeepRatio:
    """timm.data.transforms.ResizeKeepRatio as transforms_imagenet_eval builds
    it, no random scale/aspect: for a non-square target in crop_mode 'center'
    ResizeKeepRatio(scale_size) -- longest=0 and `interpolation` left at its
    'bilinear' default (timm does not pass the model's interpolation); for
    crop_mode 'border' longest=1 with the model's interpolation."""

    def __init__(self, size, longest=0.0, interp="bilinear"):
        self.size, self.longest, self.interp = tuple(size), longest, interp

    def __call__(self, img):
        img_h, img_w = img.size[::-1]
        target_h, target_w = self.size
        ratio_h, ratio_w = img_h / target_h, img_w / target_w
        longest = self.longest
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        size = [round(x * 1.0 / ratio) for x in (img_h, img_w)]
        return TF.resize(img, size, TV_MODE[self.interp])


class CenterCropOrPad:
    """timm.data.transforms.CenterCropOrPad: pad (left/top get the smaller half)
    with `fill` where the image is smaller than the output, then crop at
    int(round((size - out) / 2.0))."""

    def __init__(self, size, fill):
        self.size, self.fill = tuple(size), tuple(fill)

    def __call__(self, img):
        crop_h, crop_w = self.size
        w, h = img.size
        if crop_w > w or crop_h > h:
            pad_w, pad_h = max(crop_w - w, 0), max(crop_h - h, 0)
            img = TF.pad(img, [pad_w // 2, pad_h // 2, (pad_w + 1) // 2, (pad_h + 1) // 2], fill=self.fill)
            w, h = img.size
            if (w, h) == (crop_w, crop_h):
                return img
        top, left = int(round((h - crop_h) / 2.0)), int(round((w - crop_w) / 2.0))
        return TF.crop(img, top, left, crop_h, crop_w)


def timm_resize(out_h, out_w, crop_pct, crop_mode, interp):
    """The resize step of timm.data.transforms_factory.transforms_imagenet_eval."""
    scale_size = tuple(math.floor(x / crop_pct) for x in (out_h, out_w))
    if crop_mode == "squash":
        return T.Resize(scale_size, interpolation=TV_MODE[interp])
    if crop_mode == "border":
        return ResizeKeepRatio(scale_size, longest=1.0, interp=interp)
    if scale_size[0] == scale_size[1]:
        return T.Resize(scale_size[0], interpolation=TV_MODE[interp])
    return ResizeKeepRatio(scale_size)


def timm_eval_transform(out_h, out_w, crop_pct, crop_mode, interp, mean, std):
    if crop_mode == "border":
        crop = CenterCropOrPad((out_h, out_w), fill=[round(255 * v) for v in mean])
    else:
        crop = T.CenterCrop((out_h, out_w))
    return T.Compose([
        timm_resize(out_h, out_w, crop_pct, crop_mode, interp),
        crop,
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


# --- synthetic test pictures ----------------------------------------------
def draw_picture(w, h, seed):
    """Gradients, hard edges, thin lines and a noise patch: every resampling
    filter over- and undershoots somewhere on it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + 2 * y) % 97 * 2],
                   axis=-1).astype(np.uint8)
    rgb[h // 2:, : w // 3] = rng.integers(0, 256, size=(h - h // 2, w // 3, 3), dtype=np.uint8)
    img = Image.fromarray(rgb, "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((w // 4, h // 5, w * 3 // 4, h * 4 // 5), fill=(250, 30, 10), outline=(0, 0, 0))
    d.rectangle((w * 2 // 3, h // 10, w - 3, h // 3), fill=(255, 255, 255))
    for i in range(0, w, 7):
        d.line((i, 0, w - 1 - i // 2, h - 1), fill=(0, 0, 255) if i % 2 else (0, 0, 0))
    return img


def make_images(workdir):
    """name -> path"""
    out = {}

    def save(name, img, **kw):
        path = os.path.join(workdir, name)
        img.save(path, **kw)
        out[name] = path

    save("rgb_517x389.png", draw_picture(517, 389, 1))
    save("tall_301x640.png", draw_picture(301, 640, 2))
    save("tiny_97x61.png", draw_picture(97, 61, 3))  # everything upscales
    save("exact_224x224.png", draw_picture(224, 224, 4))  # crop_pct 1.0: no resize
    save("big_1800x1211.png", draw_picture(1800, 1211, 15))  # wide filter support
    save("strip_1000x37.png", draw_picture(1000, 37, 16))  # extreme aspect ratios
    save("column_17x300.png", draw_picture(17, 300, 17))
    save("speck_3x2.png", draw_picture(3, 2, 18))
    save("grey_333x251.png", draw_picture(333, 251, 5).convert("L"))
    rgba = draw_picture(421, 307, 6)
    rgba.putalpha(Image.fromarray(
        np.random.default_rng(7).integers(0, 256, (307, 421), dtype=np.uint8)))
    save("rgba_421x307.png", rgba)
    la = draw_picture(199, 257, 8).convert("LA")
    save("la_199x257.png", la)
    save("palette_250x180.png", draw_picture(250, 180, 9).quantize(64))
    save("palette_trns_150x90.png", draw_picture(150, 90, 20).quantize(16), transparency=3)
    save("interlaced_230x170.png", draw_picture(230, 170, 21), interlace=1)
    save("bilevel_131x77.png", draw_picture(131, 77, 22).convert("1"))
    save("grey4_91x67.png", draw_picture(91, 67, 23).convert("L").quantize(16).convert("L"), bits=4)
    rgb16 = np.asarray(draw_picture(97, 83, 24)).astype(np.uint16) * 257 + 3
    with open(os.path.join(workdir, "rgb16_97x83.png"), "wb") as f:
        f.write(png_bytes(97, 83, 16, 2, rgb16.astype(">u2").tobytes(), 97 * 6))
    out["rgb16_97x83.png"] = os.path.join(workdir, "rgb16_97x83.png")
    save("rgb_150x113.ppm", draw_picture(150, 113, 11))
    save("grey_93x71.pgm", draw_picture(93, 71, 19).convert("L"))
    save("photo_640x480.jpg", draw_picture(640, 480, 12), quality=90)
    save("photo444_333x500.jpg", draw_picture(333, 500, 13), quality=95, subsampling=0)
    save("photo422_301x203.jpg", draw_picture(301, 203, 25), quality=80, subsampling=1)
    save("progressive_411x287.jpg", draw_picture(411, 287, 26), quality=85, progressive=True)
    save("grey_257x199.jpg", draw_picture(257, 199, 14).convert("L"), quality=85)
    save("cmyk_187x143.jpg", draw_picture(187, 143, 27).convert("CMYK"), quality=90)
    examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                            "images")
    for name in sorted(os.listdir(examples)) if os.path.isdir(examples) else []:
        if name.lower().endswith((".png", ".jpg", ".jpeg", ".ppm")):
            out["examples/" + name] = os.path.join(examples, name)
    return out


def png_bytes(w, h, depth, color_type, raw_rows, row_bytes, idat=None):
    """A PNG written by hand: IHDR, one IDAT (filter byte 0 on every row)."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    if idat is None:
        rows = b"".join(b"\0" + raw_rows[y * row_bytes:(y + 1) * row_bytes] for y in range(h))
        idat = zlib.compress(rows, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def refusals(drv, rep, workdir):
    """Inputs the runtime refuses: one line naming the file, exit 2, quickly."""
    bmp = os.path.join(workdir, "rgb_203x151.bmp")
    draw_picture(203, 151, 10).save(bmp)
    # A decompression bomb: 16384 x 16384 bilevel pixels in a ~40 KB file
    # (a 782 KB RGB one took 1.6 GB to decode).
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(b"\0" + bytes(2048)) for _ in range(16384)) + z.flush()
    bomb = os.path.join(workdir, "bomb_16384x16384.png")
    with open(bomb, "wb") as f:
        f.write(png_bytes(16384, 16384, 1, 0, None, 0, idat))
    for path, needle in ((bmp, "convert other formats to PNG"), (bomb, "67108864 pixels")):
        r = subprocess.run([drv.exe, "decode", path, drv.out], capture_output=True, text=True,
                           timeout=60)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 2 and len(lines) == 1 and needle in r.stderr and path in r.stderr
        rep.line(ok, f"refuses {os.path.basename(path)}", f"exit {r.returncode}: {r.stderr.strip()!r}")


# --- driver and comparison ------------------------------------------------
class Driver:
    def __init__(self, exe, workdir):
        self.exe, self.out = exe, os.path.join(workdir, "out.bin")

    def run(self, *args):
        r = subprocess.run([self.exe, args[0], args[1], self.out, *map(str, args[2:])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"lg_preprocess_dump {' '.join(map(str, args))}: {r.stderr}")
        return r.stdout.strip()

    def decode(self, path):
        w, h = map(int, self.run("decode", path).split())
        return np.fromfile(self.out, dtype=np.uint8).reshape(h, w, 3)

    def resize(self, path, w, h, interp):
        self.run("resize", path, w, h, interp)
        return np.fromfile(self.out, dtype=np.uint8).reshape(h, w, 3)

    def preprocess(self, path, out_h, out_w, crop_pct, crop_mode, interp, mean, std, grey=False):
        plan = self.run("preprocess", path, out_h, out_w, repr(crop_pct), crop_mode, interp, *mean, *std,
                        *(["grey"] if grey else []))
        return plan, np.fromfile(self.out, dtype=np.float32).reshape(3, out_h, out_w)


class Report:
    def __init__(self):
        self.failed = 0
        self.cases = 0

    def line(self, ok, what, detail):
        self.cases += 1
        self.failed += not ok
        print(f"{'OK    ' if ok else 'NOT OK'} {what:<58} {detail}")


def compare(got, want, step):
    """max |d|, # not bit-identical, fraction within one 8-bit step."""
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    return float(d.max()), int(np.count_nonzero(got != want)), float(np.mean(d <= step * 1.0001))


def check_decode(drv, rep, name, path):
    got = drv.decode(path)
    want = np.asarray(Image.open(path).convert("RGB"))
    if got.shape != want.shape:
        rep.line(False, f"decode {name}", f"shape {got.shape}, PIL {want.shape}")
        return
    mx, nd, _ = compare(got, want, 1)
    rep.line(nd == 0, f"decode {name}",
             f"max|d| {mx:.0f} levels, {nd}/{got.size} differ ({100.0 * nd / got.size:.2f}%)")


def check_resize(drv, rep, name, path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    targets = [(int(w * 0.37) + 1, int(h * 0.41) + 1), (w * 2 + 3, h * 3 // 2), (w, h // 2 + 1),
               (w // 3 + 2, h), (224, 224)]
    for interp in ("bicubic", "bilinear", "nearest"):
        for tw, th in targets:
            got = drv.resize(path, tw, th, interp)
            want = np.asarray(img.resize((tw, th), PIL_FILTER[interp]))
            mx, nd, _ = compare(got, want, 1)
            rep.line(nd == 0, f"resize {name} -> {tw}x{th} {interp}",
                     f"max|d| {mx:.0f} levels, {nd}/{got.size} differ")


def torchvision_plan(img, out_h, out_w, crop_pct, crop_mode, interp):
    resized = timm_resize(out_h, out_w, crop_pct, crop_mode, interp)(img)
    return resized.size


def check_preprocess(drv, rep, name, path, pil_img, cfg, grey=False):
    out_h, out_w, crop_pct, crop_mode, interp, (mean, std) = cfg
    if grey:  # timm in_chans=1: PIL mode 'L', one mean/std, repeated x3 here
        mean, std = (mean[0],) * 3, (std[0],) * 3
    plan, got = drv.preprocess(path, out_h, out_w, crop_pct, crop_mode, interp, mean, std, grey)
    ref_img = Image.open(path).convert("L") if grey else pil_img
    want = timm_eval_transform(out_h, out_w, crop_pct, crop_mode, interp, mean[:1] if grey else mean,
                               std[:1] if grey else std)(ref_img).numpy()
    if grey:
        want = np.repeat(want, 3, axis=0)
    step = 1.0 / 255.0 / min(std)
    what = f"preprocess {name} {out_h}x{out_w} {crop_pct} {crop_mode} {interp}{' grey' if grey else ''}"
    rw, rh = torchvision_plan(ref_img, out_h, out_w, crop_pct, crop_mode, interp)
    plan_words = plan.split()
    if (int(plan_words[1]), int(plan_words[2])) != (rw, rh):
        rep.line(False, what, f"resize plan {plan_words[1]}x{plan_words[2]}, torchvision {rw}x{rh}")
        return
    mx, nd, within1 = compare(got, want, step)
    detail = (f"max|d| {mx:.3g} ({mx / step:.2f} steps), {nd}/{got.size} differ, "
              f"{100 * within1:.3f}% within 1 step  [{plan}]")
    rep.line(nd == 0, what, detail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dump", required=True, help="path of the lg_preprocess_dump driver")
    ap.add_argument("--workdir", required=True, help="scratch directory for images/outputs")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(1)

    drv, rep = Driver(args.dump, args.workdir), Report()
    images = make_images(args.workdir)
    for name, path in images.items():
        check_decode(drv, rep, name, path)
        if name.startswith(("rgb_517", "tall", "tiny", "grey_333", "rgba", "big", "strip", "speck")):
            check_resize(drv, rep, name, path)
        pil_img = Image.open(path).convert("RGB")
        for cfg in CONFIGS:
            check_preprocess(drv, rep, name, path, pil_img, cfg)
        # every crop mode on every picture: most are not square, so squash and
        # border differ from center
        for cfg in CROP_MODE_CONFIGS:
            check_preprocess(drv, rep, name, path, pil_img, cfg)
        if name in ("rgb_517x389.png", "grey_333x251.png", "rgba_421x307.png", "photo_640x480.jpg"):
            check_preprocess(drv, rep, name, path, pil_img, CONFIGS[0], grey=True)
    refusals(drv, rep, args.workdir)

    print(f"\n{rep.cases - rep.failed} passed, {rep.failed} failed (cases: decode, resize, "
          f"preprocess, refusals; every one bit-exact with PIL + torchvision, JPEG included)")
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
