#include "page_matrix.hpp"

#include "backends.hpp"
#include "memory_budget.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include <unistd.h>

namespace pagequery {

std::string to_string(SyntheticFill fill) { return fill == SyntheticFill::Hash ? "hash" : "morphogen"; }

namespace {

// Bytes `MemorySpace` can still allocate: the GPU's free memory, or the host's
// (cgroup-aware: core/memory_budget.hpp).
template <class MemorySpace>
std::uint64_t free_bytes() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<MemorySpace, Kokkos::CudaSpace>) {
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
    return free;
  }
#endif
  return host_memory_available();
}

void check_fits_in(const char* space, std::uint64_t need, std::uint64_t available, const std::string& what) {
  if (!fits_in(need, available))
    throw MatrixError(what + " needs " + std::to_string(need) + " bytes in " + space + ", " +
                      std::to_string(available) + " are available and " + std::to_string(memory_headroom(available)) +
                      " must stay free");
}

// `pages` rows in MemorySpace, plus `staging_pages` in host memory to load them.
template <class MemorySpace>
void check_fits(std::uint64_t pages, std::uint64_t staging_pages, const std::string& what) {
  constexpr bool on_host = Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;
  if (!on_host) check_fits_in(MemorySpace::name(), pages * kPageBytes, free_bytes<MemorySpace>(), what);
  check_fits_in(Kokkos::HostSpace::name(), ((on_host ? pages : 0) + staging_pages) * kPageBytes,
                host_memory_available(), what);
}

void check_range(const PageRange& r) {
  domain_bits_for(r.total_pages);
  if (r.first_page > r.total_pages || r.count > r.total_pages - r.first_page)
    throw MatrixError("page range [" + std::to_string(r.first_page) + ", " + std::to_string(r.first_page + r.count) +
                      ") lies outside a matrix of " + std::to_string(r.total_pages) + " pages");
}

// Where a matrix of `r` lives in its view: rows of the stored pages and the row
// of its first page. Bit-sliced matrices round out to whole blocks (zero pages).
struct RowPlan {
  std::uint64_t rows;
  std::uint64_t first_row;
};

RowPlan plan_rows(const PageRange& r, PageLayout layout) {
  if (layout == PageLayout::Vectors || r.count == 0) return {r.count, 0};
  const std::uint64_t first_row = r.first_page % kSlicePages;
  return {(first_row + r.count + kSlicePages - 1) / kSlicePages * kSlicePages, first_row};
}

// Blocks sliced per pass: the pass's pages are copied aside first (64 MiB).
constexpr std::uint64_t kSliceBatchBlocks = 64;

std::uint64_t slice_copy_pages(const RowPlan& plan, PageLayout layout) {
  return layout == PageLayout::Vectors ? 0 : std::min(plan.rows, kSliceBatchBlocks * kSlicePages);
}

template <class ExecSpace>
typename PageMatrix<typename ExecSpace::memory_space>::view_type allocate_rows(const ExecSpace& exec,
                                                                               const RowPlan& plan) {
  return typename PageMatrix<typename ExecSpace::memory_space>::view_type(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::pages"), plan.rows, kVectorsPerPage);
}

// The rows outside [first_row, first_row + count): padding pages of bit-sliced
// blocks, which must read as zero when the blocks are sliced.
template <class ExecSpace>
void zero_padding(const ExecSpace& exec, const typename PageMatrix<typename ExecSpace::memory_space>::view_type& rows,
                  std::uint64_t first_row, std::uint64_t count) {
  const Bits128 zero{{0, 0, 0, 0}};
  Kokkos::deep_copy(exec, Kokkos::subview(rows, std::make_pair(std::uint64_t{0}, first_row), Kokkos::ALL), zero);
  Kokkos::deep_copy(
      exec, Kokkos::subview(rows, std::make_pair(first_row + count, std::uint64_t{rows.extent(0)}), Kokkos::ALL), zero);
}

// Rewrites whole 256-page blocks of vector rows as bit-sliced blocks, in place.
template <class ExecSpace>
void slice_blocks(const ExecSpace& exec, const typename PageMatrix<typename ExecSpace::memory_space>::view_type& rows) {
  using Rows = typename PageMatrix<typename ExecSpace::memory_space>::view_type;
  const std::uint64_t blocks = rows.extent(0) / kSlicePages;
  if (blocks == 0) return;
  const std::uint64_t batch = std::min(blocks, kSliceBatchBlocks);
  Rows copy(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::slice_copy"), batch * kSlicePages,
            kVectorsPerPage);
  for (std::uint64_t first = 0; first < blocks; first += batch) {
    const std::uint64_t n = std::min(batch, blocks - first);
    const auto span = std::make_pair(first * kSlicePages, (first + n) * kSlicePages);
    const auto from = Kokkos::subview(copy, std::make_pair(std::uint64_t{0}, n * kSlicePages), Kokkos::ALL);
    Kokkos::deep_copy(exec, from, Kokkos::subview(rows, span, Kokkos::ALL));
    std::uint32_t* out = reinterpret_cast<std::uint32_t*>(rows.data()) + first * kSliceWords;
    // One thread per (block, vector, half, t, word): 32 pages' words in, 32 slices out.
    Kokkos::parallel_for(
        "pagequery::slice_blocks",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(
            exec, 0, static_cast<std::int64_t>(n) * kVectorsPerPage * 32),
        KOKKOS_LAMBDA(std::int64_t item) {
          const int w = static_cast<int>(item & 3);
          const int t = static_cast<int>((item >> 2) & 3);
          const int half = static_cast<int>((item >> 4) & 1);
          const int v = static_cast<int>((item >> 5) & 255);
          const std::int64_t block = item >> 13;
          std::uint32_t m[32];
          for (int i = 0; i < 32; ++i) m[i] = from(block * kSlicePages + half * 128 + t * 32 + i, v).w[w];
          transpose32(m);
          std::uint32_t* dst = out + block * kSliceWords;
          for (int b = 0; b < 32; ++b) dst[slice_word_index(v, 32 * w + b, half, t)] = m[b];
        });
  }
}

// Fills rows [first_row, first_row + count) with the synthetic pages first_page...
template <class ExecSpace>
void fill_rows(const ExecSpace& exec, const typename PageMatrix<typename ExecSpace::memory_space>::view_type& rows,
               std::uint64_t first_row, std::uint64_t count, std::uint64_t first_page, SyntheticFill fill,
               std::uint64_t seed) {
  Kokkos::parallel_for(
      "pagequery::fill_synthetic",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::int64_t>>(
          exec, {0, 0}, {static_cast<std::int64_t>(count), kVectorsPerPage}),
      KOKKOS_LAMBDA(std::int64_t p, std::int64_t v) {
        Bits128 value;
        for (int w = 0; w < 4; ++w) value.w[w] = synthetic_word(fill, seed, first_page + p, static_cast<int>(v), w);
        rows(first_row + p, v) = value;
      });
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> load_page_matrix(const ExecSpace& exec, const std::string& path,
                                                              const PageRange* range, PageLayout layout,
                                                              std::size_t staging_bytes) {
  using MemorySpace = typename ExecSpace::memory_space;
  const std::uint64_t total = page_count_of_file(path);
  const PageRange r = range ? *range : PageRange{total, 0, total};
  if (r.total_pages != total)
    throw MatrixError("matrix file " + path + " has " + std::to_string(total) + " pages, expected " +
                      std::to_string(r.total_pages));
  check_range(r);
  const RowPlan plan = plan_rows(r, layout);
  const std::uint64_t chunk = std::max<std::uint64_t>(1, std::min<std::uint64_t>(staging_bytes / kPageBytes, r.count));
  check_fits<MemorySpace>(plan.rows + slice_copy_pages(plan, layout), 2 * chunk, "matrix file " + path);

  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw MatrixError("cannot open matrix file " + path + ": " + std::strerror(errno));
  if (r.first_page && fseeko(file.get(), static_cast<off_t>(r.first_page * kPageBytes), SEEK_SET) != 0)
    throw MatrixError("cannot seek in matrix file " + path + ": " + std::strerror(errno));

  const auto pages = allocate_rows(exec, plan);
  zero_padding(exec, pages, plan.first_row, r.count);
  // Two pinned staging buffers of `chunk` pages: the next chunk is read while the last one copies.
  using Staging = Kokkos::View<Bits128**, Kokkos::LayoutRight, Kokkos::SharedHostPinnedSpace>;
  Staging staging[2] = {
      Staging(Kokkos::view_alloc(Kokkos::WithoutInitializing, "pagequery::staging0"), chunk, kVectorsPerPage),
      Staging(Kokkos::view_alloc(Kokkos::WithoutInitializing, "pagequery::staging1"), chunk, kVectorsPerPage)};
  int buf = 0;
  for (std::uint64_t done = 0; done < r.count; done += chunk, buf ^= 1) {
    const std::uint64_t n = std::min(chunk, r.count - done);
    auto* bytes = reinterpret_cast<unsigned char*>(staging[buf].data());
    const std::size_t want = n * kPageBytes;
    const std::size_t got = std::fread(bytes, 1, want, file.get());
    if (got < want) {
      if (std::ferror(file.get())) throw MatrixError("read error in matrix file " + path + ": " + std::strerror(errno));
      const bool last_page_partial = r.first_page + done + n == total && want - got < kPageBytes;
      if (!last_page_partial) throw MatrixError("matrix file " + path + " shrank while loading");
      std::memset(bytes + got, 0, want - got);  // Morphogen zero-pads the last page
    }
    // The previous chunk's copy (other buffer) ran while this one was read.
    exec.fence("pagequery::load_page_matrix: previous chunk copied");
    const auto rows = std::make_pair(plan.first_row + done, plan.first_row + done + n);
    Kokkos::deep_copy(exec, Kokkos::subview(pages, rows, Kokkos::ALL),
                      Kokkos::subview(staging[buf], std::make_pair(std::uint64_t{0}, n), Kokkos::ALL));
  }
  if (layout == PageLayout::BitSliced) slice_blocks(exec, pages);
  exec.fence("pagequery::load_page_matrix: done");
  return {pages, r.first_page, r.count, domain_bits_for(total), "file:" + path, layout};
}

template <class ExecSpace>
void fill_synthetic(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                    SyntheticFill fill, std::uint64_t seed) {
  const bool sliced = matrix.layout() == PageLayout::BitSliced;
  const std::uint64_t first_row = sliced ? matrix.first_page() % kSlicePages : 0;
  zero_padding(exec, matrix.view(), first_row, matrix.pages());
  fill_rows(exec, matrix.view(), first_row, matrix.pages(), matrix.first_page(), fill, seed);
  if (sliced) slice_blocks(exec, matrix.view());
}

template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> synthesize_page_matrix(const ExecSpace& exec, const PageRange& range,
                                                                    SyntheticFill fill, std::uint64_t seed,
                                                                    PageLayout layout) {
  using MemorySpace = typename ExecSpace::memory_space;
  check_range(range);
  const RowPlan plan = plan_rows(range, layout);
  check_fits<MemorySpace>(plan.rows + slice_copy_pages(plan, layout), 0,
                          "a synthetic matrix of " + std::to_string(range.count) + " pages");
  PageMatrix<MemorySpace> matrix(allocate_rows(exec, plan), range.first_page, range.count,
                                 domain_bits_for(range.total_pages),
                                 "synthetic:" + to_string(fill) + ":seed=" + std::to_string(seed), layout);
  fill_synthetic(exec, matrix, fill, seed);
  return matrix;
}

#define PAGEQUERY_INSTANTIATE_PAGE_MATRIX(ExecSpace)                                                             \
  template PageMatrix<ExecSpace::memory_space> load_page_matrix(const ExecSpace&, const std::string&,            \
                                                                const PageRange*, PageLayout, std::size_t);      \
  template PageMatrix<ExecSpace::memory_space> synthesize_page_matrix(const ExecSpace&, const PageRange&,        \
                                                                      SyntheticFill, std::uint64_t, PageLayout); \
  template void fill_synthetic(const ExecSpace&, const PageMatrix<ExecSpace::memory_space>&, SyntheticFill,      \
                               std::uint64_t);
PAGEQUERY_FOR_EACH_BACKEND(PAGEQUERY_INSTANTIATE_PAGE_MATRIX)

}  // namespace pagequery
