#!/usr/bin/env bash
# The libtorch/MKL/oneDNN kernel paths this machine can reach, as environment assignments for `env`.
#   bash eng/kernel-paths.sh list            every path, one "name assignments..." line each (for measuring)
#   bash eng/kernel-paths.sh other           the other CPU vendor's fp32 GEMM path, with ATen's AVX2 kernels (for CI)
#   bash eng/kernel-paths.sh describe [dll]  CPU model, its bf16/AMX flags, and the kernels libtorch runs (for CI logs); with the
#                                            built MaeDsl.Benchmarks.dll, MKL's and oneDNN's own words on what they run
# MKL picks its SGEMM by vendor: AVX2 on AMD, AVX-512 on Intel. On Intel, MKL_ENABLE_INSTRUCTIONS=AVX2 gives AMD's path;
# on AMD, a preloaded one-function library that answers MKL's vendor check gives Intel's (docs/benchmarks.md, "matmul").
set -euo pipefail

vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
shim_dir=${MAEDSL_SHIM_DIR:-${TMPDIR:-/tmp}/maedsl-kernel-paths}

# Builds the MKL vendor shim once; prints its path.
shim() {
  local so="$shim_dir/libmklvendor.so"
  if [ ! -f "$so" ]; then
    mkdir -p "$shim_dir"
    command -v gcc > /dev/null || { echo "eng/kernel-paths.sh: gcc is needed to build the MKL vendor shim (apt-get install gcc)" >&2; exit 1; }
    echo 'int mkl_serv_intel_cpu_true(void) { return 1; }' > "$shim_dir/mklvendor.c"
    gcc -shared -fPIC -O2 -o "$so.$$" "$shim_dir/mklvendor.c" && mv "$so.$$" "$so"
  fi
  echo "$so"
}

other_gemm() {
  if [ "$vendor" = "GenuineIntel" ]; then echo "MKL_ENABLE_INSTRUCTIONS=AVX2"; else echo "LD_PRELOAD=$(shim)"; fi
}

case "${1:-}" in
  list)
    echo "default"
    echo "other-gemm $(other_gemm)"
    echo "aten-avx2 ATEN_CPU_CAPABILITY=avx2"
    echo "aten-default ATEN_CPU_CAPABILITY=default"
    echo "onednn-avx2 ONEDNN_MAX_CPU_ISA=AVX2"
    echo "mkl-cbwr MKL_CBWR=COMPATIBLE"
    echo "other-gemm+aten-avx2 $(other_gemm) ATEN_CPU_CAPABILITY=avx2"
    echo "other-gemm+aten-avx2+onednn-avx2 $(other_gemm) ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2"
    ;;
  other)
    echo "$(other_gemm) ATEN_CPU_CAPABILITY=avx2"
    ;;
  describe)
    model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
    flags=$(awk -F': ' '/^flags/ { print $2; exit }' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|amx_bf16|amx_tile|avx2)$' | sort | tr '\n' ' ')
    echo "cpu: $model ($vendor, $(nproc) cores available); flags: ${flags:-none of avx2/avx512f/avx512_bf16/amx}"
    if [ "$vendor" = "GenuineIntel" ]; then echo "cpu: MKL runs its AVX-512 SGEMM for fp32 here (Intel)"; else echo "cpu: MKL runs its AVX2 SGEMM for fp32 here (not Intel)"; fi
    echo "cpu: libtorch's ATen kernels: ${ATEN_CPU_CAPABILITY:-the best this CPU supports} (ATEN_CPU_CAPABILITY); oneDNN: ${ONEDNN_MAX_CPU_ISA:-the best this CPU supports}"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
      MKL_VERBOSE=1 ONEDNN_VERBOSE=1 dotnet "$2" matmul --size 256 --rounds 1 --threads 1 2>&1 \
        | awk '/^MKL_VERBOSE oneMKL/ && !m++ || /onednn_verbose.*isa:/ && !i++ || /onednn_verbose.*primitive,exec.*matmul/ && !k++ || /fingerprint/' \
        | cut -c1-160 | sed 's/^/cpu: /' || true
    fi
    ;;
  *) echo "usage: bash eng/kernel-paths.sh list|other|describe" >&2; exit 2 ;;
esac
