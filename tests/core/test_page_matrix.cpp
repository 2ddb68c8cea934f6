// The page matrix: domain bits, loading raw files (padding, chunked staging,
// shards, errors) and the synthetic fills, on every enabled backend.
#include "core_test_support.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using pagequery::MatrixError;
using pagequery::PageLayout;
using pagequery::PageRange;
using pagequery::SyntheticFill;
using pqtest::Bits128;
using pqtest::kPageBytes;
using pqtest::kVectorsPerPage;

namespace fs = std::filesystem;

// A uniquely named path in the temp directory, removed (file or directory) on exit.
class TempPath {
 public:
  TempPath() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("pagequery-core-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + std::to_string(rd()));
  }
  explicit TempPath(const std::vector<std::uint8_t>& bytes) : TempPath() { write(bytes); }
  ~TempPath() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  void write(const std::vector<std::uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path_;
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// The file's bytes zero-padded to whole pages: what the matrix must hold.
std::vector<std::uint8_t> padded(std::vector<std::uint8_t> bytes) {
  bytes.resize((bytes.size() + kPageBytes - 1) / kPageBytes * kPageBytes, 0);
  return bytes;
}

std::vector<std::uint8_t> slice_pages(const std::vector<std::uint8_t>& bytes, std::uint64_t first,
                                      std::uint64_t count) {
  return {bytes.begin() + static_cast<std::ptrdiff_t>(first * kPageBytes),
          bytes.begin() + static_cast<std::ptrdiff_t>((first + count) * kPageBytes)};
}

// --- domain_bits_for ---------------------------------------------------------

TEST(PageMatrixDomainBits, Values) {
  EXPECT_EQ(pagequery::domain_bits_for(1), 1);
  EXPECT_EQ(pagequery::domain_bits_for(2), 1);
  EXPECT_EQ(pagequery::domain_bits_for(3), 2);
  EXPECT_EQ(pagequery::domain_bits_for(4), 2);
  EXPECT_EQ(pagequery::domain_bits_for(5), 3);
  EXPECT_EQ(pagequery::domain_bits_for(8), 3);
  EXPECT_EQ(pagequery::domain_bits_for(9), 4);
  EXPECT_EQ(pagequery::domain_bits_for(1000), 10);
  EXPECT_EQ(pagequery::domain_bits_for(1024), 10);
  EXPECT_EQ(pagequery::domain_bits_for(1025), 11);
  EXPECT_EQ(pagequery::domain_bits_for(4097), 13);
  EXPECT_EQ(pagequery::domain_bits_for(std::uint64_t{1} << 25), 25);
  EXPECT_EQ(pagequery::domain_bits_for((std::uint64_t{1} << 25) + 1), 26);
  EXPECT_EQ(pagequery::domain_bits_for(16'800'000), 25);  // the mainnet matrix
  EXPECT_EQ(pagequery::domain_bits_for((std::uint64_t{1} << 32) - 1), 32);
  EXPECT_EQ(pagequery::domain_bits_for(std::uint64_t{1} << 32), 32);
}

TEST(PageMatrixDomainBits, Rejects) {
  EXPECT_THROW(pagequery::domain_bits_for(0), MatrixError);
  EXPECT_THROW(pagequery::domain_bits_for((std::uint64_t{1} << 32) + 1), MatrixError);
  EXPECT_THROW(pagequery::domain_bits_for(std::uint64_t{1} << 40), MatrixError);
  EXPECT_THROW(pagequery::domain_bits_for(~std::uint64_t{0}), MatrixError);
}

TEST(PageMatrixFile, PageCount) {
  TempPath one_byte(std::vector<std::uint8_t>(1, 7));
  EXPECT_EQ(pagequery::page_count_of_file(one_byte.str()), 1u);
  TempPath one_page(std::vector<std::uint8_t>(kPageBytes, 7));
  EXPECT_EQ(pagequery::page_count_of_file(one_page.str()), 1u);
  TempPath just_over(std::vector<std::uint8_t>(kPageBytes + 1, 7));
  EXPECT_EQ(pagequery::page_count_of_file(just_over.str()), 2u);
  TempPath ten_and_half(std::vector<std::uint8_t>(kPageBytes * 21 / 2, 7));
  EXPECT_EQ(pagequery::page_count_of_file(ten_and_half.str()), 11u);
}

TEST(PageMatrixFile, PageCountErrors) {
  TempPath missing;
  EXPECT_THROW(pagequery::page_count_of_file(missing.str()), MatrixError);
  TempPath empty(std::vector<std::uint8_t>{});
  EXPECT_THROW(pagequery::page_count_of_file(empty.str()), MatrixError);
  TempPath dir;
  fs::create_directory(dir.str());
  EXPECT_THROW(pagequery::page_count_of_file(dir.str()), MatrixError);
}

// --- Loading, on every backend ------------------------------------------------

template <class ExecSpace>
class PageMatrixLoad : public ::testing::Test {};
TYPED_TEST_SUITE(PageMatrixLoad, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

// 10.5 pages of random bytes through staging buffers of various sizes: 3 pages
// (chunks 3+3+3+2, the partial page in the last), a non-multiple of a page,
// less than a page (one page per chunk), one page, and more than the file.
TYPED_TEST(PageMatrixLoad, TenAndAHalfPagesByteExact) {
  const TypeParam exec;
  const std::vector<std::uint8_t> bytes = pqtest::random_bytes(kPageBytes * 21 / 2, 1);
  const TempPath file(bytes);
  const std::vector<std::uint8_t> want = padded(bytes);
  ASSERT_EQ(want.size(), 11u * kPageBytes);
  for (std::size_t staging :
       {std::size_t{kPageBytes} * 3, std::size_t{kPageBytes} * 3 + 100, std::size_t{1}, std::size_t{0},
        std::size_t{kPageBytes}, std::size_t{kPageBytes} * 2, std::size_t{1} << 20}) {
    const auto m = pagequery::load_page_matrix(exec, file.str(), nullptr, PageLayout::Vectors, staging);
    EXPECT_EQ(m.pages(), 11u) << staging;
    EXPECT_EQ(m.first_page(), 0u);
    EXPECT_EQ(m.domain_bits(), 4);
    EXPECT_EQ(m.size_bytes(), 11u * kPageBytes);
    const std::vector<std::uint8_t> got = pqtest::matrix_bytes(m);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "staging " << staging << ": first difference at byte "
                             << pqtest::first_difference(got, want);
    // The padding of the last page is zero.
    for (std::size_t i = bytes.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0) << i;
  }
  // Default staging.
  const auto m = pagequery::load_page_matrix(exec, file.str());
  EXPECT_TRUE(pqtest::matrix_bytes(m) == want);
}

TYPED_TEST(PageMatrixLoad, SizesAndPadding) {
  const TypeParam exec;
  struct Case {
    std::size_t bytes;
    std::uint64_t pages;
    int d;
  };
  for (const Case c : {Case{1, 1, 1}, Case{kPageBytes - 1, 1, 1}, Case{kPageBytes, 1, 1}, Case{kPageBytes + 1, 2, 1},
                       Case{3 * kPageBytes, 3, 2}, Case{4 * kPageBytes, 4, 2}, Case{4 * kPageBytes + 17, 5, 3},
                       Case{9 * kPageBytes, 9, 4}}) {
    const std::vector<std::uint8_t> bytes = pqtest::random_bytes(c.bytes, c.bytes);
    const TempPath file(bytes);
    const auto m = pagequery::load_page_matrix(exec, file.str(), nullptr, PageLayout::Vectors, 2 * kPageBytes);
    EXPECT_EQ(m.pages(), c.pages) << c.bytes;
    EXPECT_EQ(m.domain_bits(), c.d) << c.bytes;
    EXPECT_TRUE(pqtest::matrix_bytes(m) == padded(bytes)) << c.bytes;
  }
}

// Shards of the 10.5-page file: rows are the file's pages [first, first+count),
// domain bits those of the whole file.
TYPED_TEST(PageMatrixLoad, Shards) {
  const TypeParam exec;
  const std::vector<std::uint8_t> bytes = pqtest::random_bytes(kPageBytes * 21 / 2, 2);
  const TempPath file(bytes);
  const std::vector<std::uint8_t> whole = padded(bytes);
  for (const PageRange r : {PageRange{11, 0, 11}, PageRange{11, 4, 7}, PageRange{11, 2, 3}, PageRange{11, 10, 1},
                            PageRange{11, 0, 1}, PageRange{11, 3, 8}, PageRange{11, 1, 9}}) {
    for (std::size_t staging : {std::size_t{kPageBytes} * 3, std::size_t{kPageBytes} * 2, std::size_t{1} << 20}) {
      const auto m = pagequery::load_page_matrix(exec, file.str(), &r, PageLayout::Vectors, staging);
      EXPECT_EQ(m.first_page(), r.first_page);
      EXPECT_EQ(m.pages(), r.count);
      EXPECT_EQ(m.domain_bits(), 4);
      EXPECT_TRUE(pqtest::matrix_bytes(m) == slice_pages(whole, r.first_page, r.count))
          << "range [" << r.first_page << ", +" << r.count << ") staging " << staging;
    }
  }
}

TYPED_TEST(PageMatrixLoad, RejectsBadShards) {
  const TypeParam exec;
  const TempPath file(pqtest::random_bytes(kPageBytes * 21 / 2, 3));
  for (const PageRange r : {PageRange{12, 0, 12}, PageRange{10, 0, 10}, PageRange{11, 5, 7}, PageRange{11, 0, 12},
                            PageRange{11, 12, 0}, PageRange{11, 11, 1}, PageRange{11, 1, ~std::uint64_t{0}}}) {
    EXPECT_THROW(pagequery::load_page_matrix(exec, file.str(), &r, PageLayout::Vectors, kPageBytes * 3), MatrixError)
        << "total " << r.total_pages << " range [" << r.first_page << ", +" << r.count << ")";
  }
}

TYPED_TEST(PageMatrixLoad, Errors) {
  const TypeParam exec;
  TempPath missing;
  EXPECT_THROW(pagequery::load_page_matrix(exec, missing.str()), MatrixError);
  EXPECT_THROW(pagequery::load_page_matrix(exec, missing.str() + "/nested/matrix.bin"), MatrixError);
  TempPath empty(std::vector<std::uint8_t>{});
  EXPECT_THROW(pagequery::load_page_matrix(exec, empty.str()), MatrixError);
  EXPECT_THROW(pagequery::load_page_matrix(exec, empty.str(), nullptr, PageLayout::Vectors, kPageBytes * 3),
               MatrixError);
  TempPath dir;
  fs::create_directory(dir.str());
  EXPECT_THROW(pagequery::load_page_matrix(exec, dir.str()), MatrixError);
}

// --- Synthetic matrices, on every backend ------------------------------------

template <class ExecSpace>
class PageMatrixSynthetic : public ::testing::Test {};
TYPED_TEST_SUITE(PageMatrixSynthetic, pqtest::ExecSpaces, pqtest::ExecSpaceNames);

void expect_morphogen_pages(const std::vector<std::uint8_t>& bytes, std::uint64_t first_page) {
  const std::uint64_t n = bytes.size() / kPageBytes;
  for (std::uint64_t p = 0; p < n; ++p)
    for (int b = 0; b < kPageBytes; ++b)
      ASSERT_EQ(bytes[p * kPageBytes + b], static_cast<std::uint8_t>((first_page + p) & 0xff))
          << "global page " << first_page + p << " byte " << b;
}

template <class MemorySpace>
void expect_hash_pages(const pagequery::PageMatrix<MemorySpace>& m, std::uint64_t seed) {
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  for (std::uint64_t p = 0; p < m.pages(); ++p)
    for (int v = 0; v < kVectorsPerPage; ++v)
      for (int w = 0; w < 4; ++w)
        ASSERT_EQ(host(p, v).w[w], pagequery::synthetic_word(SyntheticFill::Hash, seed, m.first_page() + p, v, w))
            << "page " << m.first_page() + p << " vector " << v << " word " << w;
}

TYPED_TEST(PageMatrixSynthetic, MorphogenFill) {
  const TypeParam exec;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Morphogen, 0);
  exec.fence();
  EXPECT_EQ(m.pages(), 300u);
  EXPECT_EQ(m.first_page(), 0u);
  EXPECT_EQ(m.domain_bits(), 9);
  expect_morphogen_pages(pqtest::matrix_bytes(m), 0);
  // The seed does not matter for Morphogen's fill.
  const auto m2 = pagequery::synthesize_page_matrix(exec, PageRange{300, 0, 300}, SyntheticFill::Morphogen, 99);
  exec.fence();
  EXPECT_TRUE(pqtest::matrix_bytes(m2) == pqtest::matrix_bytes(m));
}

TYPED_TEST(PageMatrixSynthetic, MorphogenFillShard) {
  const TypeParam exec;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{300, 250, 20}, SyntheticFill::Morphogen, 0);
  exec.fence();
  EXPECT_EQ(m.pages(), 20u);
  EXPECT_EQ(m.first_page(), 250u);
  EXPECT_EQ(m.domain_bits(), 9);
  expect_morphogen_pages(pqtest::matrix_bytes(m), 250);
}

TYPED_TEST(PageMatrixSynthetic, HashFillMatchesSyntheticWord) {
  const TypeParam exec;
  const auto whole = pagequery::synthesize_page_matrix(exec, PageRange{1000, 0, 1000}, SyntheticFill::Hash, 42);
  exec.fence();
  EXPECT_EQ(whole.domain_bits(), 10);
  expect_hash_pages(whole, 42);
  const std::vector<std::uint8_t> whole_bytes = pqtest::matrix_bytes(whole);

  // Shards hold the rows of the whole matrix.
  for (const PageRange r :
       {PageRange{1000, 0, 37}, PageRange{1000, 600, 40}, PageRange{1000, 999, 1}, PageRange{1000, 1, 998}}) {
    const auto shard = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 42);
    exec.fence();
    EXPECT_EQ(shard.first_page(), r.first_page);
    EXPECT_EQ(shard.pages(), r.count);
    EXPECT_EQ(shard.domain_bits(), 10);
    EXPECT_TRUE(pqtest::matrix_bytes(shard) == slice_pages(whole_bytes, r.first_page, r.count))
        << "range [" << r.first_page << ", +" << r.count << ")";
  }

  // Another seed gives other contents.
  const auto other = pagequery::synthesize_page_matrix(exec, PageRange{1000, 0, 1000}, SyntheticFill::Hash, 43);
  exec.fence();
  EXPECT_FALSE(pqtest::matrix_bytes(other) == whole_bytes);
}

TYPED_TEST(PageMatrixSynthetic, FillSyntheticRefillsInPlace) {
  const TypeParam exec;
  const auto m = pagequery::synthesize_page_matrix(exec, PageRange{64, 10, 30}, SyntheticFill::Hash, 1);
  pagequery::fill_synthetic(exec, m, SyntheticFill::Morphogen, 0);
  exec.fence();
  expect_morphogen_pages(pqtest::matrix_bytes(m), 10);
  pagequery::fill_synthetic(exec, m, SyntheticFill::Hash, 2);
  exec.fence();
  expect_hash_pages(m, 2);
}

TYPED_TEST(PageMatrixSynthetic, RejectsBadRanges) {
  const TypeParam exec;
  for (const PageRange r : {PageRange{0, 0, 0}, PageRange{0, 0, 1}, PageRange{10, 5, 6}, PageRange{10, 11, 0},
                            PageRange{10, 0, 11}, PageRange{(std::uint64_t{1} << 32) + 1, 0, 1}}) {
    EXPECT_THROW(pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 0), MatrixError)
        << "total " << r.total_pages << " range [" << r.first_page << ", +" << r.count << ")";
  }
}

// --- Bit-sliced layout --------------------------------------------------------

TEST(BitSlice, Transpose32MovesBitBOfWordIToBitIOfWordB) {
  std::mt19937 gen(3);
  for (int round = 0; round < 20; ++round) {
    std::uint32_t in[32], out[32];
    for (int i = 0; i < 32; ++i) in[i] = out[i] = gen();
    pagequery::transpose32(out);
    for (int i = 0; i < 32; ++i)
      for (int b = 0; b < 32; ++b) ASSERT_EQ((out[b] >> i) & 1u, (in[i] >> b) & 1u) << "word " << i << " bit " << b;
  }
}

TEST(BitSlice, WordIndexCoversTheBlockOnce) {
  std::vector<int> seen(pagequery::kSliceWords, 0);
  for (int v = 0; v < kVectorsPerPage; ++v)
    for (int bit = 0; bit < 128; ++bit)
      for (int half = 0; half < 2; ++half)
        for (int t = 0; t < 4; ++t) {
          const std::uint32_t i = pagequery::slice_word_index(v, bit, half, t);
          ASSERT_LT(i, seen.size());
          ++seen[i];
        }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), pagequery::kSliceWords);
}

// A bit-sliced matrix holds the pages `pages` (its local pages, 4096 bytes each)
// and zeros elsewhere in its blocks, at the places bit_slice.hpp defines.
template <class MemorySpace>
void expect_sliced(const pagequery::PageMatrix<MemorySpace>& m, const std::vector<std::uint8_t>& pages) {
  ASSERT_EQ(m.layout(), PageLayout::BitSliced);
  ASSERT_EQ(pages.size(), m.pages() * kPageBytes);
  const std::uint64_t first_row = m.first_page() - m.first_block() * pagequery::kSlicePages;
  ASSERT_EQ(m.blocks(), (first_row + m.pages() + 255) / 256);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.view());
  const auto* words = reinterpret_cast<const std::uint32_t*>(host.data());
  for (std::uint64_t block = 0; block < m.blocks(); ++block)
    for (int q = 0; q < pagequery::kSlicePages; ++q) {
      const std::uint64_t row = block * pagequery::kSlicePages + q;
      const bool present = row >= first_row && row < first_row + m.pages();
      for (int v = 0; v < kVectorsPerPage; ++v) {
        const Bits128 want =
            present ? pqtest::vector_of(pages.data() + (row - first_row) * kPageBytes, v) : Bits128{{0, 0, 0, 0}};
        for (int bit = 0; bit < 128; ++bit) {
          const std::uint32_t word =
              words[block * pagequery::kSliceWords + pagequery::slice_word_index(v, bit, q / 128, (q % 128) / 32)];
          ASSERT_EQ((word >> (q % 32)) & 1u, (want.w[bit / 32] >> (bit % 32)) & 1u)
              << "block " << block << " page " << q << " vector " << v << " bit " << bit;
        }
      }
    }
}

TYPED_TEST(PageMatrixSynthetic, BitSlicedHoldsThePagesOfEveryShard) {
  const TypeParam exec;
  for (const PageRange r : {PageRange{1, 0, 1}, PageRange{300, 0, 300}, PageRange{1000, 300, 500},
                            PageRange{1000, 999, 1}, PageRange{600, 256, 256}}) {
    const auto vectors = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 9);
    const auto sliced = pagequery::synthesize_page_matrix(exec, r, SyntheticFill::Hash, 9, PageLayout::BitSliced);
    exec.fence();
    EXPECT_EQ(sliced.first_page(), r.first_page);
    EXPECT_EQ(sliced.pages(), r.count);
    expect_sliced(sliced, pqtest::matrix_bytes(vectors));
    if (::testing::Test::HasFailure()) return;
  }
  // Refilling in place re-slices, with the padding pages still zero.
  const auto m =
      pagequery::synthesize_page_matrix(exec, PageRange{1000, 300, 500}, SyntheticFill::Hash, 9, PageLayout::BitSliced);
  pagequery::fill_synthetic(exec, m, SyntheticFill::Morphogen, 0);
  const auto want = pagequery::synthesize_page_matrix(exec, PageRange{1000, 300, 500}, SyntheticFill::Morphogen, 0);
  exec.fence();
  expect_sliced(m, pqtest::matrix_bytes(want));
}

TYPED_TEST(PageMatrixLoad, BitSlicedFileShard) {
  const TypeParam exec;
  const std::vector<std::uint8_t> bytes = pqtest::random_bytes(kPageBytes * 600 + 5, 4);
  const TempPath file(bytes);
  const std::vector<std::uint8_t> pages = padded(bytes);
  const PageRange r{601, 250, 351};
  const auto m = pagequery::load_page_matrix(exec, file.str(), &r, PageLayout::BitSliced, kPageBytes * 7);
  exec.fence();
  EXPECT_EQ(m.blocks(), 3u);
  expect_sliced(m, slice_pages(pages, r.first_page, r.count));
}

TEST(PageMatrixSyntheticWord, Values) {
  for (std::uint64_t p : {0ull, 1ull, 255ull, 256ull, 257ull, 1000ull})
    for (int w = 0; w < 4; ++w)
      EXPECT_EQ(pagequery::synthetic_word(SyntheticFill::Morphogen, 5, p, 17, w),
                0x01010101u * static_cast<std::uint32_t>(p & 0xff));
  // The hash fill depends on every coordinate.
  const std::uint32_t base = pagequery::synthetic_word(SyntheticFill::Hash, 7, 100, 10, 2);
  EXPECT_NE(base, pagequery::synthetic_word(SyntheticFill::Hash, 8, 100, 10, 2));
  EXPECT_NE(base, pagequery::synthetic_word(SyntheticFill::Hash, 7, 101, 10, 2));
  EXPECT_NE(base, pagequery::synthetic_word(SyntheticFill::Hash, 7, 100, 11, 2));
  EXPECT_NE(base, pagequery::synthetic_word(SyntheticFill::Hash, 7, 100, 10, 3));
  EXPECT_EQ(pagequery::to_string(SyntheticFill::Hash), "hash");
  EXPECT_EQ(pagequery::to_string(SyntheticFill::Morphogen), "morphogen");
}

}  // namespace
