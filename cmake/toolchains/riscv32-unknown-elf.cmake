# Cross-compiling libvigil for 32-bit RISC-V microcontrollers (RV32IMAC,
# ilp32) with Debian's gcc-riscv64-unknown-elf, which is multilib and builds
# rv32 code with -march/-mabi. picolibc-riscv64-unknown-elf provides the C
# library (libvigil itself needs only memset, memcpy and memcmp).
#   cmake -S . -B build-rv32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/riscv32-unknown-elf.cmake \
#         -DVIGIL_HOST_TOOLS=OFF -DCMAKE_BUILD_TYPE=MinSizeRel
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)

set(VIGIL_RISCV_ARCH "-march=rv32imac -mabi=ilp32" CACHE STRING "RISC-V -march/-mabi flags")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VIGIL_RISCV_ARCH)

find_program(CMAKE_C_COMPILER riscv64-unknown-elf-gcc REQUIRED)
set(CMAKE_ASM_COMPILER ${CMAKE_C_COMPILER})
find_program(CMAKE_AR riscv64-unknown-elf-ar REQUIRED)
find_program(CMAKE_RANLIB riscv64-unknown-elf-ranlib REQUIRED)
find_program(CMAKE_OBJCOPY riscv64-unknown-elf-objcopy)
find_program(CMAKE_SIZE riscv64-unknown-elf-size)

# gcc-riscv64-unknown-elf ships no C library; picolibc's specs file adds its
# headers and libraries.
set(_vigil_picolibc_specs "--specs=/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs")
# Compile and link options rather than CMAKE_C_FLAGS_INIT, so that a
# -DCMAKE_C_FLAGS=... of the user's adds to them instead of replacing them.
separate_arguments(_vigil_arch_flags UNIX_COMMAND "${VIGIL_RISCV_ARCH}")
add_compile_options(${_vigil_arch_flags} ${_vigil_picolibc_specs} -mcmodel=medlow
                    -ffunction-sections -fdata-sections)
add_link_options(${_vigil_arch_flags} ${_vigil_picolibc_specs} -Wl,--gc-sections)

set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
