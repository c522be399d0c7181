# Cross-compiling libvigil for Arm Cortex-M with Debian's gcc-arm-none-eabi
# (newlib or picolibc). Pick the core with -DVIGIL_ARM_CPU=...:
#   cortex-m0plus  -mcpu=cortex-m0plus -mthumb
#   cortex-m3      -mcpu=cortex-m3 -mthumb            (qemu mps2-an385)
#   cortex-m4      -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
#   cortex-m4-soft -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
# Configure the library alone with:
#   cmake -S . -B build-m4 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-none-eabi.cmake \
#         -DVIGIL_ARM_CPU=cortex-m4 -DVIGIL_HOST_TOOLS=OFF -DCMAKE_BUILD_TYPE=MinSizeRel
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(VIGIL_ARM_CPU "cortex-m4" CACHE STRING "cortex-m0plus, cortex-m3, cortex-m4 or cortex-m4-soft")
# try_compile() runs in a fresh project that does not see the cache entry
# above until it is forwarded; forward it so its flags match the build's.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VIGIL_ARM_CPU)

if(VIGIL_ARM_CPU STREQUAL "cortex-m0plus")
  set(_vigil_cpu_flags "-mcpu=cortex-m0plus -mthumb")
elseif(VIGIL_ARM_CPU STREQUAL "cortex-m3")
  set(_vigil_cpu_flags "-mcpu=cortex-m3 -mthumb")
elseif(VIGIL_ARM_CPU STREQUAL "cortex-m4")
  set(_vigil_cpu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(VIGIL_ARM_CPU STREQUAL "cortex-m4-soft")
  set(_vigil_cpu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=soft")
else()
  message(FATAL_ERROR "VIGIL_ARM_CPU=${VIGIL_ARM_CPU}: use cortex-m0plus, cortex-m3, cortex-m4 or cortex-m4-soft")
endif()

find_program(CMAKE_C_COMPILER arm-none-eabi-gcc REQUIRED)
set(CMAKE_ASM_COMPILER ${CMAKE_C_COMPILER})
find_program(CMAKE_AR arm-none-eabi-ar REQUIRED)
find_program(CMAKE_RANLIB arm-none-eabi-ranlib REQUIRED)
find_program(CMAKE_OBJCOPY arm-none-eabi-objcopy)
find_program(CMAKE_SIZE arm-none-eabi-size)

# The CPU flags go in as compile and link options rather than through
# CMAKE_C_FLAGS_INIT, so that a -DCMAKE_C_FLAGS=... of the user's adds to
# them instead of silently replacing them (and building for the wrong core).
separate_arguments(_vigil_cpu_flags UNIX_COMMAND "${_vigil_cpu_flags}")
add_compile_options(${_vigil_cpu_flags} -ffunction-sections -fdata-sections)
add_link_options(${_vigil_cpu_flags} -Wl,--gc-sections)

# There is no operating system to link a test program against: check the
# compiler by building a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
