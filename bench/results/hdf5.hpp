#pragma once
// The HDF5 calls the results store shares (writer, reader, attributes, datasets):
// handles that close themselves, and failures as StoreError naming the file.
#include "service/errors.hpp"

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pagequery::bench::results {

// An hid_t closed by the matching H5?close when it goes out of scope.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept;
  ~Hid() { reset(); }
  // Closes now; false if the library reports an error (a failed file close).
  bool reset();
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// StoreError("<path>: <what>"), the path made printable.
[[noreturn]] void fail(const std::string& path, const std::string& what);
// `id`, or StoreError("<path>: HDF5 error: <what>") when it is not valid.
hid_t must(hid_t id, const std::string& path, const char* what);
void must_ok(herr_t rc, const std::string& path, const char* what);

// Refuses `count` elements of `element_bytes` each that the file cannot hold (a
// damaged or hostile header declares any size): checked before anything is allocated.
void check_declared(const std::string& path, const std::string& what, std::uint64_t count, std::uint64_t element_bytes,
                    std::uint64_t file_bytes);

bool is_hdf5(const std::string& path);
// Starts the library with its automatic error printing off: errors become messages.
void quiet_hdf5();
// File access properties; `use_locking`: HDF5's own file locks, where supported.
Hid file_access(bool use_locking);
// A file in memory (HDF5's core driver without a backing store), see file_image.
Hid memory_access();
// The bytes of a file opened with memory_access().
std::vector<char> file_image(hid_t file, const std::string& path);
// Whether `loc` has a link `name` (one path component): false when it has none, true
// for a hard link. Any other link is refused (StoreError naming `where`): an
// external link opens another file (a FIFO blocks), and pagequery writes none.
bool has_link(hid_t loc, const char* name, const std::string& path, const std::string& where);

// A fixed-length, NUL-terminated UTF-8 string type of `size` bytes.
Hid fixed_string(std::size_t size);
// A variable-length UTF-8 string type.
Hid vlen_string();
// The text of a fixed-length string of `size` bytes (NUL-terminated, or not when full).
std::string fixed_text(const char* src, std::size_t size);

}  // namespace pagequery::bench::results
