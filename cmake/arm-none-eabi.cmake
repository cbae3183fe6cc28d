# SPDX-License-Identifier: BSD-2-Clause
# cmake/arm-none-eabi.cmake - cross-compile tern's portable core for a
# Cortex-M microcontroller with the bare-metal GNU toolchain (Debian:
# gcc-arm-none-eabi, with newlib's headers from libnewlib-dev; the
# libnewlib-arm-none-eabi libraries are needed only to link a firmware).
#
#   cmake -S . -B build/arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         -DTERN_CORE_ONLY=ON -DCMAKE_BUILD_TYPE=MinSizeRel
#   cmake --build build/arm && arm-none-eabi-size -t build/arm/libtern.a
#
# The CPU: -DTERN_ARM_FLAGS="-mcpu=cortex-m0plus -mthumb" (or cortex-m7 with
# -mfpu=fpv5-d16 -mfloat-abi=hard, ...); Cortex-M4, soft float by default.
# Only a static library is built: nothing is linked, not even while CMake
# checks the compiler.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TERN_ARM_TRIPLE arm-none-eabi)
# CMake finds arm-none-eabi-ar and -ranlib from the compiler's name.
set(CMAKE_C_COMPILER ${TERN_ARM_TRIPLE}-gcc)

# No linking: there is no startup code, linker script or C library to link
# against here, and a library needs none.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(NOT DEFINED TERN_ARM_FLAGS)
  set(TERN_ARM_FLAGS "-mcpu=cortex-m4 -mthumb")
endif()
set(TERN_ARM_FLAGS "${TERN_ARM_FLAGS}" CACHE STRING "CPU flags for the arm-none-eabi build")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TERN_ARM_FLAGS)
# One section per function and object, so that a firmware's --gc-sections
# keeps only the parts of tern it calls.
set(CMAKE_C_FLAGS_INIT "${TERN_ARM_FLAGS} -ffunction-sections -fdata-sections")

# Headers and libraries from the toolchain's own tree, never the host's.
set(CMAKE_FIND_ROOT_PATH /usr/lib/${TERN_ARM_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
