#!/usr/bin/env bash
# The bare-metal example, end to end, in one command: generates the model of
# model.lua for a Cortex-M7 (--target cortex-m, weights as a const array in
# flash), builds it with Debian's gcc-arm-none-eabi + newlib into an image for
# the MPS2 AN500 board, prints the flash/RAM report, and runs the image under
# qemu-system-arm (semihosting prints its self-test). Exit status: the board's.
#
#   examples/embedded/run.sh [LUCIDGEN [WORK_DIR]]     (defaults: build/lucidgen, build/embedded)
#
# Needs (Debian): gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lucidgen=${1:-build/lucidgen}
work=${2:-build/embedded}
mkdir -p "$work"

# 1. the model: fp32 weights as net_blob in section .rodata.lucidgen (flash)
"$lucidgen" --config "$here/model.lua" --random-init --target cortex-m --weights-format c --name net \
  --quiet -o "$work/net.c"

# 2. the image: one thread and no OS (-fopenmp-simd), a single-precision FPU
#    (fpv5-sp-d16: a double would become a library call), no heap, no stdio
cflags=(-std=c11 -O2 -ffp-contract=fast -fopenmp-simd -fno-math-errno -mthumb -mcpu=cortex-m7 -mfpu=fpv5-sp-d16
  -mfloat-abi=hard -ffunction-sections -fdata-sections -Wall -Wextra -Werror)
arm-none-eabi-gcc "${cflags[@]}" -I "$work" -I "$here" \
  "$here/startup.c" "$here/semihost.c" "$here/main.c" "$work/net.c" "$work/net_weights.c" \
  -nostartfiles --specs=nano.specs -T "$here/mps2_an500.ld" -Wl,--gc-sections -Wl,-Map="$work/app.map" \
  -lm -o "$work/app.elf"

# 3. the memory report: flash = code + constants + weights + .data's image, RAM = .data + .bss (the arena) + stack
echo "== flash/RAM of $work/app.elf (MPS2 AN500: 4 MB flash at 0x0, 4 MB RAM at 0x20000000)"
arm-none-eabi-size -A "$work/app.elf" | awk '$1 ~ /^\.(text|weights|rodata|ARM.exidx|data|bss|stack)$/'
arm-none-eabi-size -A "$work/app.elf" | awk '
  $1 ~ /^\.(text|weights|rodata|ARM.exidx)$/ { flash += $2 }
  $1 == ".data" { flash += $2; ram += $2 }
  $1 ~ /^\.(bss|stack)$/ { ram += $2 }
  END { printf "flash %d bytes, RAM %d bytes\n", flash, ram }'
grep -E "#define net_(ARENA_BYTES|STACK_BYTES|BLOB_BYTES|WEIGHT_BYTES) " "$work/net.h" | sed 's/^#define /  /'

# 4. run it on the emulated board (qemu writes the semihosting console to stderr)
echo "== qemu-system-arm -M mps2-an500"
timeout 300 qemu-system-arm -M mps2-an500 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$work/app.elf" 2>&1
