#include "service/updates.hpp"

#include "service/errors.hpp"
#include "service/text.hpp"

#include <xxhash.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>

namespace pagequery::service {

UpdateFile::UpdateFile(const std::string& path, std::uint64_t total_pages, std::uint64_t last_page_bytes) {
  const std::string name = "--updates " + one_line(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name + ": cannot open");
  text_.assign(std::istreambuf_iterator<char>(in), {});
  if (in.bad()) throw InputError(name + ": read error");
  if (const std::size_t rest = text_.size() % kUpdateRecordBytes)
    throw InputError(name + ": record " + std::to_string(records()) + " is truncated (" + std::to_string(rest) +
                     " of " + std::to_string(kUpdateRecordBytes) + " bytes)");
  for (std::size_t r = 0; r < records(); ++r) {
    try {
      check_page_update(total_pages, last_page_bytes, page(r), bytes(r));
    } catch (const UpdateError& e) {
      throw InputError(name + ": record " + std::to_string(r) + ": " + e.what());
    }
  }
}

std::uint64_t UpdateFile::page(std::size_t record) const {
  std::uint64_t out = 0;
  for (int b = 7; b >= 0; --b) out = out << 8 | static_cast<unsigned char>(text_[record * kUpdateRecordBytes + b]);
  return out;
}

std::span<const std::uint8_t> UpdateFile::bytes(std::size_t record) const {
  return {reinterpret_cast<const std::uint8_t*>(text_.data()) + record * kUpdateRecordBytes + 8,
          static_cast<std::size_t>(kPageBytes)};
}

void UpdateFile::stage(Engine& engine) const {
  for (std::size_t r = 0; r < records(); ++r) engine.stage_page(page(r), bytes(r));
}

std::string UpdateFile::identity() const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text_.data(), text_.size())));
  return std::to_string(records()) + " records, XXH3 " + hex;
}

namespace {

// Zipf rank in [0, n) by continuous inversion of x^-s over [1, n + 1).
std::uint64_t zipf_rank(std::mt19937_64& gen, std::uint64_t n, double s) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
  const double top = static_cast<double>(n) + 1.0;
  const double x =
      std::abs(s - 1.0) < 1e-9 ? std::pow(top, u) : std::pow(1.0 + u * (std::pow(top, 1.0 - s) - 1.0), 1.0 / (1.0 - s));
  return std::min<std::uint64_t>(n - 1, static_cast<std::uint64_t>(x) - 1);
}

// A stride coprime to n: rank r is page (r * stride + offset) mod n, a permutation.
std::uint64_t coprime_stride(std::uint64_t n, std::mt19937_64& gen) {
  std::uint64_t stride = gen() % n | 1;
  while (std::gcd(stride, n) != 1) ++stride;
  return stride;
}

}  // namespace

SyntheticUpdates::SyntheticUpdates(std::uint64_t total_pages, std::uint64_t last_page_bytes, double zipf,
                                   std::uint64_t seed)
    : total_pages_(total_pages), last_page_bytes_(last_page_bytes), zipf_(zipf), gen_(seed), bytes_(kPageBytes) {
  stride_ = coprime_stride(total_pages_, gen_);
  offset_ = gen_() % total_pages_;
}

std::uint64_t SyntheticUpdates::next_page(std::unordered_set<std::uint64_t>& taken) {
  std::uint64_t rank = zipf_rank(gen_, total_pages_, zipf_);
  while (!taken.insert(rank).second) rank = (rank + 1) % total_pages_;  // distinct pages within a set
  last_page_ = static_cast<std::uint64_t>((static_cast<unsigned __int128>(rank) * stride_ + offset_) % total_pages_);
  return last_page_;
}

// 8 random bytes a draw: a set of 10,000 pages is 5 million draws, not 40.
std::span<const std::uint8_t> SyntheticUpdates::next_bytes() {
  const std::uint64_t used = last_page_ + 1 == total_pages_ ? last_page_bytes_ : kPageBytes;
  for (std::uint64_t k = 0; k < kPageBytes; k += 8) {
    const std::uint64_t word = gen_();
    for (std::uint64_t b = 0; b < 8; ++b) bytes_[k + b] = k + b < used ? static_cast<std::uint8_t>(word >> (8 * b)) : 0;
  }
  return bytes_;
}

std::uint64_t write_synthetic_updates(const SyntheticUpdateFile& spec, std::ostream& out) {
  if (spec.pages_per_block > spec.total_pages)
    throw InputError("--pages-per-block " + std::to_string(spec.pages_per_block) + " exceeds the matrix's " +
                     std::to_string(spec.total_pages) + " pages");
  SyntheticUpdates source(spec.total_pages, spec.last_page_bytes, spec.zipf, spec.seed);
  std::string record(kUpdateRecordBytes, '\0');
  for (std::uint64_t b = 0; b < spec.blocks; ++b)
    source.next_set(spec.pages_per_block, [&](std::uint64_t page, std::span<const std::uint8_t> bytes) {
      for (int k = 0; k < 8; ++k) record[k] = static_cast<char>(page >> (8 * k));
      std::memcpy(record.data() + 8, bytes.data(), bytes.size());
      out.write(record.data(), static_cast<std::streamsize>(record.size()));
    });
  return spec.blocks * spec.pages_per_block;
}

}  // namespace pagequery::service
