# Other CPUs under emulation (label `cross`; toolchains and qemu from
# .ci/install-deps; skipped with exit 77 where they are missing, failed where
# CI is set):
# - the microkernel sweep for neon (aarch64-linux-gnu-gcc, qemu-aarch64; fp32,
#   every weight dtype, emulated bf16 compute and int8), int8 for neon-dotprod
#   (sdot), and for cortex-m in fp32 and int8 (without the DSP extension its
#   kernels are plain C: this machine runs them; the DSP's run on the board below);
# - resnet18 and convnextv2_atto for NEON against this machine's build, both
#   through raw_run.c (the model on raw floats: no image decoders to cross-build),
#   int8 bit-identical on neon and neon-dotprod;
# - examples/embedded: its two models in fp32 and int8 from flash on an emulated
#   Cortex-M7 (MPS2 AN500) and Cortex-M55 (MPS3 AN547), int8 bit-exact with x86,
#   the stack within NAME_STACK_BYTES, instructions counted.
add_test(NAME cross_kernel_sweep_neon
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/kernel_sweep.py $<TARGET_FILE:lua_unit> --targets neon
    --numerics all --cc aarch64-linux-gnu-gcc --run "qemu-aarch64 -L /usr/aarch64-linux-gnu")
add_test(NAME cross_kernel_sweep_neon_dotprod_int8
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/kernel_sweep.py $<TARGET_FILE:lua_unit> --targets neon-dotprod
    --numerics int8 --cc aarch64-linux-gnu-gcc --run "qemu-aarch64 -L /usr/aarch64-linux-gnu")
add_test(NAME cross_kernel_sweep_cortex_m
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/kernel_sweep.py $<TARGET_FILE:lua_unit> --targets cortex-m)
add_test(NAME cross_kernel_sweep_cortex_m_int8
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/unit/kernel_sweep.py $<TARGET_FILE:lua_unit> --targets cortex-m
    --numerics int8)
foreach(variant resnet18_a1_in1k convnextv2_atto_fcmae_ft_in1k)
  add_test(NAME cross_neon_vs_x86_${variant}
    COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/cross/neon_vs_x86.py $<TARGET_FILE:lucidgen> ${variant} --size 64)
endforeach()
# reduced precision on NEON: int8 weights widened in its kernels, bf16 compute
# emulated (against avx2's emulation of the same arithmetic on this machine),
# int8 compute bit-identical with and without the dot product
foreach(variant resnet18_a1_in1k convnextv2_atto_fcmae_ft_in1k)
  add_test(NAME cross_neon_vs_x86_int8w_${variant}
    COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/cross/neon_vs_x86.py $<TARGET_FILE:lucidgen> ${variant} --size 64
      --weights-dtype int8)
  foreach(arm neon neon-dotprod)
    string(REPLACE "-" "_" name cross_${arm}_vs_x86_int8_${variant})
    add_test(NAME ${name}
      COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/cross/neon_vs_x86.py $<TARGET_FILE:lucidgen> ${variant}
        --arm-target ${arm} --size 64 --precision int8)
    list(APPEND int8_cross_tests ${name})
  endforeach()
endforeach()
add_test(NAME cross_neon_vs_x86_bf16_convnextv2_atto_fcmae_ft_in1k
  COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/cross/neon_vs_x86.py $<TARGET_FILE:lucidgen>
    convnextv2_atto_fcmae_ft_in1k --size 64 --precision bf16)
foreach(core m7 m55)
  add_test(NAME cross_embedded_cortex_${core}_fp32_int8_from_flash
    COMMAND ${LG_PYTHON} ${CMAKE_SOURCE_DIR}/tests/cross/embedded_boards.py $<TARGET_FILE:lucidgen> ${core})
endforeach()
set_tests_properties(cross_kernel_sweep_neon cross_kernel_sweep_neon_dotprod_int8 cross_kernel_sweep_cortex_m
  cross_kernel_sweep_cortex_m_int8 cross_neon_vs_x86_resnet18_a1_in1k
  cross_neon_vs_x86_convnextv2_atto_fcmae_ft_in1k cross_neon_vs_x86_int8w_resnet18_a1_in1k
  cross_neon_vs_x86_int8w_convnextv2_atto_fcmae_ft_in1k ${int8_cross_tests}
  cross_neon_vs_x86_bf16_convnextv2_atto_fcmae_ft_in1k
  cross_embedded_cortex_m7_fp32_int8_from_flash cross_embedded_cortex_m55_fp32_int8_from_flash
  PROPERTIES LABELS cross SKIP_RETURN_CODE 77 TIMEOUT 900)
