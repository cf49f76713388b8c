"""lucidgen's seeded random initialization, written out from its contract.

generator/weights.lua fills every parameter a checkpoint lacks (--no-strict)
and a swapped head (--num-classes N != the checkpoint's) with seeded values
that are the same on every machine:

  seed of a key    FNV-1a 64 over the key's bytes, xor the seed (--random-init=SEED, else 0)
  stream           splitmix64; uniform01 = (next >> 11) * 2^-53
  normal(m, s)     Box-Muller over pairs (u1, u2): r = sqrt(-2 ln u1),
                   m + s*r*cos(2 pi u2), then m + s*r*sin(2 pi u2); in double, rounded to float32
  uniform(lo, hi)  lo + (hi - lo) * uniform01
  by key           running_var U(0.5, 1.5); running_mean N(0, 0.1); gamma U(0.1, 1);
                   module grn N(0, 0.5); bias N(0, 0.1); other 1-d N(1, 0.1);
                   weights N(0, 1/sqrt(fan_in))

so the parity driver can give the PyTorch reference the very values lucidgen
made up and compare the whole output, head and all.
"""
import numpy as np
import torch

MASK = (1 << 64) - 1


def key_seed(seed, key):
    h = 0xCBF29CE484222325
    for byte in key.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h ^ (seed & MASK)


def uniform01(seed, n):
    """n values of the splitmix64 stream starting after `seed`, as doubles in [0, 1)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal(shape, seed, mean, std):
    n = int(np.prod(shape))
    u = uniform01(seed, n + n % 2)
    u1, u2 = np.maximum(u[0::2], 1e-300), u[1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    out = np.empty(n + n % 2)
    out[0::2] = mean + std * r * np.cos(2 * np.pi * u2)
    out[1::2] = mean + std * r * np.sin(2 * np.pi * u2)
    return torch.from_numpy(out[:n].astype(np.float32).reshape(shape))


def uniform(shape, seed, lo, hi):
    n = int(np.prod(shape))
    return torch.from_numpy((lo + (hi - lo) * uniform01(seed, n)).astype(np.float32).reshape(shape))


def random_param(key, shape, seed=0):
    s = key_seed(seed, key)
    parts = key.split(".")
    leaf, module = parts[-1], parts[-2] if len(parts) > 1 else ""
    shape = tuple(shape)
    if leaf == "running_var":
        return uniform(shape, s, 0.5, 1.5)
    if leaf == "running_mean":
        return normal(shape, s, 0, 0.1)
    if leaf == "gamma":
        return uniform(shape, s, 0.1, 1.0)
    if module == "grn":
        return normal(shape, s, 0, 0.5)
    if leaf == "bias":
        return normal(shape, s, 0, 0.1)
    if len(shape) == 1:
        return normal(shape, s, 1.0, 0.1)
    return normal(shape, s, 0, 1 / np.sqrt(np.prod(shape[1:])))
