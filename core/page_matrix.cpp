#include "page_matrix.hpp"

#include "backends.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include <unistd.h>

namespace pagequery {

std::string to_string(SyntheticFill fill) {
  return fill == SyntheticFill::Hash ? "hash" : "morphogen";
}

namespace {

template <class MemorySpace>
std::uint64_t free_bytes() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<MemorySpace, Kokkos::CudaSpace>) {
    std::size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
    return free;
  }
#endif
  // MemAvailable counts reclaimable page cache (a re-read file), MemFree does not.
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.starts_with("MemAvailable:")) return std::stoull(line.substr(13)) * 1024;
  return static_cast<std::uint64_t>(sysconf(_SC_AVPHYS_PAGES)) *
         static_cast<std::uint64_t>(sysconf(_SC_PAGE_SIZE));
}

template <class MemorySpace>
void check_fits(std::uint64_t pages, const std::string& what) {
  const std::uint64_t need = pages * kPageBytes;
  const std::uint64_t have = free_bytes<MemorySpace>();
  if (need > have)
    throw MatrixError(what + " needs " + std::to_string(need) + " bytes in " +
                      MemorySpace::name() + " but only " + std::to_string(have) + " are free");
}

void check_range(const PageRange& r) {
  domain_bits_for(r.total_pages);
  if (r.first_page > r.total_pages || r.count > r.total_pages - r.first_page)
    throw MatrixError("page range [" + std::to_string(r.first_page) + ", " +
                      std::to_string(r.first_page + r.count) + ") lies outside a matrix of " +
                      std::to_string(r.total_pages) + " pages");
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> load_page_matrix(const ExecSpace& exec,
                                                              const std::string& path,
                                                              const PageRange* range,
                                                              std::size_t staging_bytes) {
  using MemorySpace = typename ExecSpace::memory_space;
  const std::uint64_t total = page_count_of_file(path);
  const PageRange r = range ? *range : PageRange{total, 0, total};
  if (r.total_pages != total)
    throw MatrixError("matrix file " + path + " has " + std::to_string(total) +
                      " pages, expected " + std::to_string(r.total_pages));
  check_range(r);
  check_fits<MemorySpace>(r.count, "matrix file " + path);

  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw MatrixError("cannot open matrix file " + path + ": " + std::strerror(errno));
  if (r.first_page &&
      fseeko(file.get(), static_cast<off_t>(r.first_page * kPageBytes), SEEK_SET) != 0)
    throw MatrixError("cannot seek in matrix file " + path + ": " + std::strerror(errno));

  typename PageMatrix<MemorySpace>::view_type pages(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::pages"), r.count,
      kVectorsPerPage);
  // Two pinned staging buffers: the next chunk is read while the last one copies.
  const std::uint64_t chunk =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(staging_bytes / kPageBytes, r.count));
  using Staging = Kokkos::View<Bits128**, Kokkos::LayoutRight, Kokkos::SharedHostPinnedSpace>;
  Staging staging[2] = {
      Staging(Kokkos::view_alloc(Kokkos::WithoutInitializing, "pagequery::staging0"), chunk,
              kVectorsPerPage),
      Staging(Kokkos::view_alloc(Kokkos::WithoutInitializing, "pagequery::staging1"), chunk,
              kVectorsPerPage)};
  int buf = 0;
  for (std::uint64_t done = 0; done < r.count; done += chunk, buf ^= 1) {
    const std::uint64_t n = std::min(chunk, r.count - done);
    auto* bytes = reinterpret_cast<unsigned char*>(staging[buf].data());
    const std::size_t want = n * kPageBytes;
    const std::size_t got = std::fread(bytes, 1, want, file.get());
    if (got < want) {
      if (std::ferror(file.get()))
        throw MatrixError("read error in matrix file " + path + ": " + std::strerror(errno));
      const bool last_page_partial = r.first_page + done + n == total && want - got < kPageBytes;
      if (!last_page_partial) throw MatrixError("matrix file " + path + " shrank while loading");
      std::memset(bytes + got, 0, want - got);  // Morphogen zero-pads the last page
    }
    // The previous chunk's copy (other buffer) ran while this one was read.
    exec.fence("pagequery::load_page_matrix: previous chunk copied");
    const auto rows = std::make_pair(done, done + n);
    Kokkos::deep_copy(exec, Kokkos::subview(pages, rows, Kokkos::ALL),
                      Kokkos::subview(staging[buf], std::make_pair(std::uint64_t{0}, n),
                                      Kokkos::ALL));
  }
  exec.fence("pagequery::load_page_matrix: done");
  return {pages, r.first_page, domain_bits_for(total), "file:" + path};
}

template <class ExecSpace>
void fill_synthetic(const ExecSpace& exec,
                    const PageMatrix<typename ExecSpace::memory_space>& matrix,
                    SyntheticFill fill, std::uint64_t seed) {
  const auto pages = matrix.view();
  const std::uint64_t first = matrix.first_page();
  Kokkos::parallel_for(
      "pagequery::fill_synthetic",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::int64_t>>(
          exec, {0, 0}, {static_cast<std::int64_t>(pages.extent(0)), kVectorsPerPage}),
      KOKKOS_LAMBDA(std::int64_t p, std::int64_t v) {
        Bits128 value;
        for (int w = 0; w < 4; ++w)
          value.w[w] = synthetic_word(fill, seed, first + p, static_cast<int>(v), w);
        pages(p, v) = value;
      });
}

template <class ExecSpace>
PageMatrix<typename ExecSpace::memory_space> synthesize_page_matrix(const ExecSpace& exec,
                                                                    const PageRange& range,
                                                                    SyntheticFill fill,
                                                                    std::uint64_t seed) {
  using MemorySpace = typename ExecSpace::memory_space;
  check_range(range);
  check_fits<MemorySpace>(range.count, "a synthetic matrix of " +
                                           std::to_string(range.count) + " pages");
  typename PageMatrix<MemorySpace>::view_type pages(
      Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "pagequery::pages"), range.count,
      kVectorsPerPage);
  PageMatrix<MemorySpace> matrix(pages, range.first_page, domain_bits_for(range.total_pages),
                                 "synthetic:" + to_string(fill) + ":seed=" + std::to_string(seed));
  fill_synthetic(exec, matrix, fill, seed);
  return matrix;
}

#define PAGEQUERY_INSTANTIATE_PAGE_MATRIX(ExecSpace)                                      \
  template PageMatrix<ExecSpace::memory_space> load_page_matrix(                          \
      const ExecSpace&, const std::string&, const PageRange*, std::size_t);               \
  template PageMatrix<ExecSpace::memory_space> synthesize_page_matrix(                    \
      const ExecSpace&, const PageRange&, SyntheticFill, std::uint64_t);                  \
  template void fill_synthetic(const ExecSpace&, const PageMatrix<ExecSpace::memory_space>&, \
                               SyntheticFill, std::uint64_t);
PAGEQUERY_FOR_EACH_BACKEND(PAGEQUERY_INSTANTIATE_PAGE_MATRIX)

}  // namespace pagequery
