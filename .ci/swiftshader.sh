#!/usr/bin/env bash
# Source this file (`. .ci/swiftshader.sh`) to give Dawn a GPU on a CPU-only machine: SwiftShader, the
# Vulkan implementation that Debian's chromium-common ships (libvk_swiftshader.so, its ICD file and a
# Vulkan loader), extracted without installing. It exports VK_ICD_FILENAMES and LD_LIBRARY_PATH; the
# WebGPU specs then run on it. Correct but slow: never time anything on it. (Debian 12's Mesa lavapipe
# is rejected by Dawn.) Keeps the extracted files in ${SWIFTSHADER_DIR:-$HOME/.cache/jacobi-forcing/swiftshader}.
dir="${SWIFTSHADER_DIR:-$HOME/.cache/jacobi-forcing/swiftshader}"
icd="$dir/usr/lib/chromium/vk_swiftshader_icd.json"
if [ ! -f "$icd" ]; then
  tmp=$(mktemp -d)
  ( cd "$tmp" && { apt-get download chromium-common >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get download chromium-common >/dev/null 2>&1; }; } )
  deb=$(ls "$tmp"/chromium-common_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then mkdir -p "$dir" && dpkg-deb -x "$deb" "$dir"; fi
  rm -rf "$tmp"
fi
if [ -f "$icd" ]; then
  export VK_ICD_FILENAMES="$icd"
  export LD_LIBRARY_PATH="$dir/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "swiftshader: VK_ICD_FILENAMES=$VK_ICD_FILENAMES" >&2
else
  echo "swiftshader: could not download Debian's chromium-common; the WebGPU specs will find no adapter" >&2
fi
