#include "bench/results/hdf5.hpp"

#include "pagequery/core/printable.hpp"

#include <cstring>

namespace pagequery::bench::results {

using namespace service;

Hid& Hid::operator=(Hid&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool Hid::reset() {
  bool ok = true;
  if (id_ >= 0 && closer_) ok = closer_(id_) >= 0;
  id_ = H5I_INVALID_HID;
  return ok;
}

void fail(const std::string& path, const std::string& what) { throw StoreError(printable(path) + ": " + what); }

hid_t must(hid_t id, const std::string& path, const char* what) {
  if (id < 0) fail(path, std::string("HDF5 error: ") + what);
  return id;
}

void must_ok(herr_t rc, const std::string& path, const char* what) {
  if (rc < 0) fail(path, std::string("HDF5 error: ") + what);
}

void check_declared(const std::string& path, const std::string& what, std::uint64_t count, std::uint64_t element_bytes,
                    std::uint64_t file_bytes) {
  if (element_bytes != 0 && count > file_bytes / element_bytes)
    fail(path, what + " declares " + std::to_string(count) + " elements of " + std::to_string(element_bytes) +
                   " bytes, more than the file's " + std::to_string(file_bytes) + " bytes hold (damaged?)");
}

bool is_hdf5(const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
  return H5Fis_accessible(path.c_str(), H5P_DEFAULT) > 0;
#else
  return H5Fis_hdf5(path.c_str()) > 0;
#endif
}

void quiet_hdf5() {
  H5open();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become messages, not stack dumps
}

Hid file_access(bool use_locking) {
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  // Best effort: file systems without flock (some Lustre/NFS mounts) still work.
  H5Pset_file_locking(fapl, use_locking, true);
#else
  (void)use_locking;
#endif
  return fapl;
}

// A commit edits the file in memory (HDF5's core driver without a backing store:
// HDF5 never writes to disk) and writes its image itself. A full disk is then an
// error of ours: a close that failed on disk left HDF5 with a broken file, and its
// shutdown (atexit, or libhdf5_cpp's destructor) crashed on it.
Hid memory_access() {
  Hid fapl = file_access(false);  // the image is private until the rename
  H5Pset_fapl_core(fapl, std::size_t{1} << 20, false);
  return fapl;
}

std::vector<char> file_image(hid_t file, const std::string& path) {
  must_ok(H5Fflush(file, H5F_SCOPE_GLOBAL), path, "flushing the file image");
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  if (size <= 0) fail(path, "HDF5 error: sizing the file image");
  std::vector<char> image(static_cast<std::size_t>(size));
  if (H5Fget_file_image(file, image.data(), image.size()) != size) fail(path, "HDF5 error: copying the file image");
  return image;
}

bool has_link(hid_t loc, const char* name, const std::string& path, const std::string& where) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return false;  // never traverses `name` itself
  H5L_info_t info{};
  if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) fail(path, "cannot read the link " + printable(where));
  if (info.type == H5L_TYPE_HARD) return true;
  const char* kind = info.type == H5L_TYPE_EXTERNAL ? "an external link"
                     : info.type == H5L_TYPE_SOFT   ? "a soft link"
                                                    : "a user-defined link";
  fail(path, printable(where) + " is " + kind + " (refused: pagequery writes hard links only)");
}

Hid fixed_string(std::size_t size) {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, size);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

Hid vlen_string() {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

std::string fixed_text(const char* src, std::size_t size) { return std::string(src, strnlen(src, size)); }

}  // namespace pagequery::bench::results
