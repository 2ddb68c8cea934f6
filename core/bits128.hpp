#pragma once
// A 128-bit value: a DPF seed, a mask, or one 16-byte vector of a page.
// Kokkos-free on purpose: the CLI links these types through a plain C++
// compiler, while the kernels use the same functions on the device.
#include <cstdint>

// PAGEQUERY_FORCEINLINE: helpers that take accessor lambdas (impl/dpf_walk.hpp),
// so that they always dissolve into the kernel that calls them.
#if defined(__CUDACC__)
#define PAGEQUERY_INLINE __host__ __device__ inline
#define PAGEQUERY_FORCEINLINE __host__ __device__ __forceinline__
#else
#define PAGEQUERY_INLINE inline
#define PAGEQUERY_FORCEINLINE inline
#endif

namespace pagequery {

struct alignas(16) Bits128 {
  std::uint32_t w[4];
};

PAGEQUERY_INLINE Bits128 operator^(const Bits128& a, const Bits128& b) {
  return {{a.w[0] ^ b.w[0], a.w[1] ^ b.w[1], a.w[2] ^ b.w[2], a.w[3] ^ b.w[3]}};
}

PAGEQUERY_INLINE Bits128 operator&(const Bits128& a, const Bits128& b) {
  return {{a.w[0] & b.w[0], a.w[1] & b.w[1], a.w[2] & b.w[2], a.w[3] & b.w[3]}};
}

PAGEQUERY_INLINE bool operator==(const Bits128& a, const Bits128& b) {
  return a.w[0] == b.w[0] && a.w[1] == b.w[1] && a.w[2] == b.w[2] && a.w[3] == b.w[3];
}

inline constexpr int kPageBytes = 4096;
inline constexpr int kVectorsPerPage = kPageBytes / 16;

}  // namespace pagequery
