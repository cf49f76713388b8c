#!/usr/bin/env bash
# The bare-metal example, end to end, in one command. For each model (model.lua:
# a ConvNeXt-V2 "pico", 64x64; resnet8.lua: MLPerf Tiny's ResNet-8 shape, 32x32),
# each precision (fp32; int8 calibrated on the images in calibration/) and each
# board (a Cortex-M7 on the MPS2 AN500, a Cortex-M55 on the MPS3 AN547), it
# generates the model with its weights as a const array in flash, builds it
# with Debian's gcc-arm-none-eabi + newlib, runs it under qemu-system-arm with
# -icount shift=0 (semihosting prints the self-test, the stack it used and the
# instructions it took), then prints the memory and instruction report of both
# precisions side by side per board. Exit status: 0 when every board passed.
#
#   examples/embedded/run.sh [LUCIDGEN [WORK_DIR [BOARD...]]]
#
# Defaults: build/lucidgen, build/embedded, both boards (m7 m55).
#
# Instruction counts are instructions the emulated core executed (under
# -icount shift=0 an instruction is 1 ns of virtual time, read with SysTick),
# not cycles: qemu models no pipeline, caches or memory wait states.
#
# Needs (Debian): gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lucidgen=${1:-build/lucidgen}
work=${2:-build/embedded}
boards=("${@:3}")
if [ ${#boards[@]} = 0 ]; then boards=(m7 m55); fi
mkdir -p "$work"

# The Cortex-M55 gets lucidgen's Helium target where this lucidgen has one.
if "$lucidgen" --help 2>&1 | grep -q -- cortex-m55; then m55_target=cortex-m55; else m55_target=cortex-m; fi

# board: its qemu machine, name, compiler flags, linker script, SysTick clock
# (qemu's: 25 MHz on the AN500, 32 MHz on the AN547) and lucidgen target.
# Single-precision FPU on the M7 (fpv5-sp-d16: a double would become a library
# call); the M55's FPU with MVE (gcc's default for -mcpu=cortex-m55).
board() {
  case $1 in
    m7) machine=mps2-an500 name="Cortex-M7 (MPS2 AN500)" ld=mps2_an500.ld clock=25000000 target=cortex-m
      cpu=(-mcpu=cortex-m7 -mfpu=fpv5-sp-d16 -mfloat-abi=hard) ;;
    m55) machine=mps3-an547 name="Cortex-M55 (MPS3 AN547)" ld=mps3_an547.ld clock=32000000 target=$m55_target
      cpu=(-mcpu=cortex-m55 -mfloat-abi=hard) ;;
    *) echo "run.sh: unknown board '$1' (m7 or m55)" >&2; exit 2 ;;
  esac
}

# 1. the model: weights as net_blob in section .rodata.lucidgen (flash)
generate() { # board model precision dir
  local args=()
  if [ "$3" = int8 ]; then args=(--precision int8 --calibrate "$here/calibration"); fi
  "$lucidgen" --config "$here/$2.lua" --random-init --target "$target" "${args[@]}" --weights-format c \
    --name net --quiet -o "$4/net.c"
}

# 2. the image: one thread and no OS (-fopenmp-simd), no heap, no stdio; the
#    generated code's optimization flags are the generator's (net.json's cflags)
build() { # dir
  local codegen
  codegen=$(sed -n '/"cflags": \[/,/\]/p' "$1/net.json" | sed -n 's/^ *"\([^"]*\)",\{0,1\}$/\1/p')
  local cflags=(-std=c11 $codegen -fopenmp-simd -fno-math-errno -mthumb "${cpu[@]}"
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror "-DBOARD=\"$name\"" -DBOARD_CLOCK_HZ=$clock)
  arm-none-eabi-gcc "${cflags[@]}" -I "$1" -I "$here" \
    "$here/startup.c" "$here/semihost.c" "$here/systick.c" "$here/main.c" "$1/net.c" "$1/net_weights.c" \
    -nostartfiles --specs=nano.specs -T "$here/$ld" -Wl,--gc-sections -Wl,-Map="$1/app.map" \
    -lm -o "$1/app.elf"
}

# 3. run it on the emulated board (qemu writes the semihosting console to stderr)
run() { # dir
  timeout 600 qemu-system-arm -M "$machine" -nographic -monitor none -serial none -icount shift=0 \
    -semihosting-config enable=on,target=native -kernel "$1/app.elf" > "$1/board.log" 2>&1
}

# 4. what the report needs of one build, as "key value" lines: flash = code
#    (.text, .rodata, .ARM.exidx, .data's image) + the blob (.weights)
facts() { # dir
  arm-none-eabi-size -A "$1/app.elf" | awk '
    $1 ~ /^\.(text|rodata|ARM.exidx|data)$/ { code += $2 }
    $1 == ".weights" { printf "blob %d\nblob_at %d\n", $2, $3 }
    END { printf "code %d\n", code }'
  sed -n 's/^#define net_\(ARENA_BYTES\|STACK_BYTES\|WEIGHT_BYTES\) \([0-9]*\)u$/\1 \2/p' "$1/net.h"
  sed -n 's/^#define net_\(VARIANT\|TARGET\) "\(.*\)"$/\1 \2/p' "$1/net.h"
  sed -n -e 's/^stack bytes used by the forward pass: /STACK_USED /p' \
    -e 's/^instructions per inference (emulated, not cycles): /INSTRUCTIONS /p' \
    -e 's/^max|diff| /MAX_DIFF /p' -e 's/^selftest: /SELFTEST /p' "$1/board.log"
}

status=0
for b in "${boards[@]}"; do
  board $b
  for model in model resnet8; do
    for precision in fp32 int8; do
      dir=$work/$b/$model-$precision
      mkdir -p "$dir"
      generate $b $model $precision "$dir"
      build "$dir"
      echo "== qemu-system-arm -M $machine -icount shift=0: $model.lua, $precision, --target $target"
      if ! run "$dir"; then status=1; fi
      cat "$dir/board.log"
      facts "$dir" > "$dir/facts"
    done
  done
done

# 5. the report: both precisions side by side per board and model, and their
#    ratios against the goals set for int8: on the M7 int8/fp32 arena <= 0.3,
#    weight flash <= 0.3, instructions <= 0.35; the M55's int8 instructions
#    <= 0.5 the M7's. A missed goal is reported, not an error.
fact() { awk -v k="$2" '$1 == k { print $2 }' "$work/$1/facts"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r != "-" && t != "") printf "<= %.2f %s", t, (r <= t ? "met" : "missed") }'; }
line() { printf "  %-38s %10s %10s %9s  %s\n" "$@" | sed 's/ *$//'; }
row() { # label fp32 int8 [target]: a 4th argument (may be empty) adds the ratio int8/fp32
  local r=""
  if [ $# -ge 4 ]; then r=$(ratio "$3" "$2"); fi
  line "$1" "${2:--}" "${3:--}" "$r" "$(verdict "$r" "${4:-}")"
}
stack_row() { # fp32 dir, int8 dir
  local over=""
  for d in "$1" "$2"; do
    if [ "$(fact $d STACK_USED)" -gt "$(fact $d STACK_BYTES)" ]; then over="$over ${d##*-}"; fi
  done
  line "RAM: stack used (measured)" "$(fact $1 STACK_USED)" "$(fact $2 STACK_USED)" "" \
    "${over:+over net_STACK_BYTES:$over}"
}
for b in "${boards[@]}"; do
  board $b
  if [ $b = m7 ]; then weights=0.30 arena=0.30 instructions=0.35 targets="goal"
  else weights="" arena="" instructions="" targets=""; fi
  echo
  echo "== report: $name, bytes and instructions per inference (emulated instructions, not cycles)"
  for model in model resnet8; do
    f=$b/$model-fp32 i=$b/$model-int8
    printf "%-40s %10s %10s %9s  %s\n" "$(fact $f VARIANT) ($model.lua)" fp32 int8 int8/fp32 "$targets" | sed 's/ *$//'
    row "flash: code (.text .rodata .data)" "$(fact $f code)" "$(fact $i code)"
    row "flash: weights (net_WEIGHT_BYTES)" "$(fact $f WEIGHT_BYTES)" "$(fact $i WEIGHT_BYTES)" "$weights"
    row "flash: blob (+ header, self-test data)" "$(fact $f blob)" "$(fact $i blob)" ""
    row "RAM: arena (net_ARENA_BYTES)" "$(fact $f ARENA_BYTES)" "$(fact $i ARENA_BYTES)" "$arena"
    row "RAM: stack bound (net_STACK_BYTES)" "$(fact $f STACK_BYTES)" "$(fact $i STACK_BYTES)"
    stack_row $f $i
    row "instructions per inference" "$(fact $f INSTRUCTIONS)" "$(fact $i INSTRUCTIONS)" "$instructions"
  done
done
if [[ " ${boards[*]} " == *" m7 "* && " ${boards[*]} " == *" m55 "* ]]; then
  echo
  echo "== report: instructions per inference, int8: Cortex-M7 ($(fact m7/model-int8 TARGET)), Cortex-M55 ($(fact m55/model-int8 TARGET))"
  printf "%-40s %10s %10s %9s  %s\n" "" M7 M55 M55/M7 "goal"
  for model in model resnet8; do
    m7=$(fact m7/$model-int8 INSTRUCTIONS) m55=$(fact m55/$model-int8 INSTRUCTIONS)
    r=$(ratio "$m55" "$m7")
    line "$(fact m7/$model-int8 VARIANT)" "${m7:--}" "${m55:--}" "$r" "$(verdict "$r" 0.50)"
  done
fi
exit $status
