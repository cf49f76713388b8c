/* 16-bit floats <-> float32, bit-exact: IEEE binary16 ("f16") and bfloat16.
 *
 * One owner for these conversions: the checkpoint reader (F16/BF16 tensors),
 * the weight packer (--weights-dtype bf16/f16) and the reference that rounds
 * activations as --precision bf16 does. The generated kernels carry their
 * own copies (templates/vec_*.c.in), tested against these. */
#ifndef LG_HALF_H
#define LG_HALF_H

#include <stdint.h>
#include <string.h>

static inline float lg_f32_from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static inline uint32_t lg_bits_from_f32(float x) {
  uint32_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

/* bfloat16 is the top half of a float32: widening is exact. */
static inline float lg_bf16_to_f32(uint16_t h) { return lg_f32_from_bits((uint32_t)h << 16); }

/* float32 -> bfloat16 the way AVX512-BF16's VCVTNE2PS2BF16 does it: round to
 * nearest even, denormal inputs become a zero of their sign, NaN stays NaN
 * (made quiet). Checked against the instruction on every float32. */
static inline uint16_t lg_f32_to_bf16(float x) {
  uint32_t b = lg_bits_from_f32(x);
  if ((b & 0x7F800000u) == 0)
    return (uint16_t)(b >> 16 & 0x8000u);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u)
    return (uint16_t)(b >> 16 | 0x40u);
  return (uint16_t)((b + 0x7FFFu + (b >> 16 & 1u)) >> 16);
}

/* IEEE binary16 -> binary32, exact: every half is representable as a float.
 * Subnormal halves (exp 0) are renormalised; exp 31 is inf/NaN with the
 * payload kept in the top mantissa bits and a NaN made quiet (as F16C's
 * VCVTPH2PS does). */
static inline float lg_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = h >> 10 & 0x1F, mant = h & 0x3FF;
  if (exp == 0) {
    if (mant == 0)
      return lg_f32_from_bits(sign);
    uint32_t e = 113; /* 127 - 15 + 1: exponent of 2^-14 before shifting */
    while (!(mant & 0x400)) {
      mant <<= 1;
      e--;
    }
    return lg_f32_from_bits(sign | e << 23 | (mant & 0x3FF) << 13);
  }
  if (exp == 31)
    return lg_f32_from_bits(sign | 0x7F800000u | (mant ? 0x400000u : 0) | mant << 13);
  return lg_f32_from_bits(sign | (exp + 112) << 23 | mant << 13);
}

/* float32 -> IEEE binary16, round to nearest even (F16C's VCVTPS2PH with
 * imm 0): subnormal halves kept, past 65504 (after rounding) infinity, NaN
 * stays NaN (made quiet). */
static inline uint16_t lg_f32_to_f16(float x) {
  uint32_t b = lg_bits_from_f32(x);
  uint16_t sign = (uint16_t)(b >> 16 & 0x8000u);
  uint32_t exp = b >> 23 & 0xFF, mant = b & 0x7FFFFFu;
  if (exp == 0xFF)
    return (uint16_t)(sign | 0x7C00u | (mant ? 0x200u | mant >> 13 : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31)
    return (uint16_t)(sign | 0x7C00u);
  uint32_t m, shift;
  if (e <= 0) { /* a subnormal half (or zero): the implicit bit joins the shifted mantissa */
    if (e < -10)
      return sign;
    m = mant | 0x800000u;
    shift = (uint32_t)(14 - e);
  } else {
    m = mant;
    shift = 13;
  }
  uint32_t half = 1u << (shift - 1), rest = m & ((1u << shift) - 1);
  uint32_t q = m >> shift;
  if (rest > half || (rest == half && (q & 1)))
    q++;
  /* a carry out of the mantissa bumps the exponent, up to infinity: the field sum does it */
  return (uint16_t)(sign | (e <= 0 ? q : ((uint32_t)e << 10) + q));
}

#endif
