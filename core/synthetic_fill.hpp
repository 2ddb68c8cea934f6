#pragma once
// The synthetic matrix's bytes, host and device alike, without Kokkos: the page
// matrix fills its View with them, and `pagequery matrix` writes them to a file.
#include "bits128.hpp"
#include "matrix_shape.hpp"

#include <cstdint>

namespace pagequery {

// The synthetic value of word w (0..3) of vector v of global page p.
PAGEQUERY_INLINE std::uint32_t synthetic_word(SyntheticFill fill, std::uint64_t seed, std::uint64_t page, int vector,
                                              int word) {
  if (fill == SyntheticFill::Morphogen) return 0x01010101u * static_cast<std::uint32_t>(page & 0xff);
  std::uint64_t z = seed ^ (page * 0x9e3779b97f4a7c15ull) ^ (static_cast<std::uint64_t>(vector * 4 + word) << 40);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64 finaliser
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<std::uint32_t>(z ^ (z >> 31));
}

}  // namespace pagequery
