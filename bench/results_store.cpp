#include "bench/results_store.hpp"

#include "core/memory_budget.hpp"
#include "core/printable.hpp"

#include <hdf5.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace pagequery::bench {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- RunRecord

void RunRecord::set(std::string name, AttrValue value) {
  for (Attribute& a : attributes)
    if (a.name == name) {
      a.value = std::move(value);
      return;
    }
  attributes.push_back({std::move(name), std::move(value)});
}

const AttrValue* RunRecord::find(std::string_view name) const {
  for (const Attribute& a : attributes)
    if (a.name == name) return &a.value;
  return nullptr;
}

std::string RunRecord::text(std::string_view name, std::string_view fallback) const {
  const AttrValue* v = find(name);
  if (!v) return std::string(fallback);
  struct Visit {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return std::to_string(u); }
    std::string operator()(double d) const { return number(d); }
    std::string operator()(const std::vector<std::int64_t>& list) const {
      std::string out;
      for (std::int64_t i : list) out += (out.empty() ? "" : ",") + std::to_string(i);
      return out;
    }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out;
      for (const std::string& s : list) out += (out.empty() ? "" : ",") + s;
      return out;
    }
  };
  return std::visit(Visit{}, *v);
}

std::string accumulate_of(const RunRecord& run) { return run.text("accumulate", "lop3"); }

namespace {
std::optional<double> double_attribute(const RunRecord& run, std::string_view name) {
  const AttrValue* v = run.find(name);
  if (!v || !std::holds_alternative<double>(*v)) return std::nullopt;
  return std::get<double>(*v);
}
}  // namespace

std::optional<double> read_floor_of(const RunRecord& run) { return double_attribute(run, "read_floor_ms"); }

namespace {

// ------------------------------------------------------------ HDF5 helpers

// An hid_t closed by the matching H5?close when it goes out of scope.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Hid() { reset(); }
  // Closes now; false if the library reports an error (a failed file close).
  bool reset() {
    bool ok = true;
    if (id_ >= 0 && closer_) ok = closer_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw StoreError(printable(path) + ": " + what);
}

hid_t must(hid_t id, const std::string& path, const char* what) {
  if (id < 0) fail(path, std::string("HDF5 error: ") + what);
  return id;
}
void must_ok(herr_t rc, const std::string& path, const char* what) {
  if (rc < 0) fail(path, std::string("HDF5 error: ") + what);
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

bool link_exists(hid_t loc, const char* name) {
  const htri_t r = H5Lexists(loc, name, H5P_DEFAULT);
  return r > 0;
}

// Opens a results file read-only, or says precisely why not.
Hid open_results_read(const std::string& path) {
  quiet_hdf5();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, not a results file");
  // Checked before HDF5 opens it: opening a FIFO would block.
  if (!fs::is_regular_file(status)) fail(path, "is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) fail(path, std::strerror(errno));
  if (!is_hdf5(path)) fail(path, "not an HDF5 file");
  Hid fapl = file_access(true);
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose);
  if (!file.valid()) fail(path, "cannot open the HDF5 file (damaged?)");
  if (!link_exists(file, "runs") || !Hid(H5Gopen2(file, "runs", H5P_DEFAULT), H5Gclose).valid())
    fail(path, "an HDF5 file without a /runs group (not written by pagequery sweep)");
  return file;
}

// ---------------------------------------------------------------- row types

struct CellRecord {
  char strategy[kStrategyChars];
  char mode[kModeChars];
  std::int32_t streams;
  std::uint8_t cuda_graph;
  std::int32_t tile;
  std::int32_t threshold;
  std::uint32_t queries;
  std::uint32_t concurrency;
  std::uint32_t iterations;
  std::uint32_t warmup;
  double single_ms[5];  // min, median, mean, stddev, max
  double batch_ms[5];
  double single_qps;
  double batch_qps;
  double speedup;
  std::uint64_t single_checksum;
  std::uint64_t batch_checksum;
  std::uint8_t checksum_match;
  double bandwidth_gbs;
  double single_reduce_ms;  // since the MPI scale-out; absent in older runs (read as 0)
  double batch_reduce_ms;
  char dpf[kDpfChars];  // since packed keys; absent in older runs (read as "", i.e. morphogen)
};

struct SampleRecord {
  std::uint32_t cell;
  std::uint8_t path;
  std::uint32_t iteration;
  double ms;
  double reduce_ms;  // since the MPI scale-out; absent in older runs (read as 0)
};

const char* const kStatNames[5] = {"min", "median", "mean", "stddev", "max"};

Hid fixed_string(std::size_t size) {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, size);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

// The in-memory compound type; the file stores it packed.
Hid cell_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(CellRecord)), H5Tclose);
  Hid strategy = fixed_string(kStrategyChars), mode = fixed_string(kModeChars), dpf = fixed_string(kDpfChars);
  H5Tinsert(t, "strategy", offsetof(CellRecord, strategy), strategy);
  H5Tinsert(t, "mode", offsetof(CellRecord, mode), mode);
  H5Tinsert(t, "streams", offsetof(CellRecord, streams), H5T_NATIVE_INT32);
  H5Tinsert(t, "cuda_graph", offsetof(CellRecord, cuda_graph), H5T_NATIVE_UINT8);
  H5Tinsert(t, "tile", offsetof(CellRecord, tile), H5T_NATIVE_INT32);
  H5Tinsert(t, "threshold", offsetof(CellRecord, threshold), H5T_NATIVE_INT32);
  H5Tinsert(t, "queries", offsetof(CellRecord, queries), H5T_NATIVE_UINT32);
  H5Tinsert(t, "concurrency", offsetof(CellRecord, concurrency), H5T_NATIVE_UINT32);
  H5Tinsert(t, "iterations", offsetof(CellRecord, iterations), H5T_NATIVE_UINT32);
  H5Tinsert(t, "warmup", offsetof(CellRecord, warmup), H5T_NATIVE_UINT32);
  for (int i = 0; i < 5; ++i) {
    H5Tinsert(t, (std::string("single_ms_") + kStatNames[i]).c_str(),
              offsetof(CellRecord, single_ms) + i * sizeof(double), H5T_NATIVE_DOUBLE);
  }
  for (int i = 0; i < 5; ++i) {
    H5Tinsert(t, (std::string("batch_ms_") + kStatNames[i]).c_str(),
              offsetof(CellRecord, batch_ms) + i * sizeof(double), H5T_NATIVE_DOUBLE);
  }
  H5Tinsert(t, "single_qps", offsetof(CellRecord, single_qps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "batch_qps", offsetof(CellRecord, batch_qps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "speedup", offsetof(CellRecord, speedup), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "single_checksum", offsetof(CellRecord, single_checksum), H5T_NATIVE_UINT64);
  H5Tinsert(t, "batch_checksum", offsetof(CellRecord, batch_checksum), H5T_NATIVE_UINT64);
  H5Tinsert(t, "checksum_match", offsetof(CellRecord, checksum_match), H5T_NATIVE_UINT8);
  H5Tinsert(t, "bandwidth_gbs", offsetof(CellRecord, bandwidth_gbs), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "single_reduce_ms", offsetof(CellRecord, single_reduce_ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "batch_reduce_ms", offsetof(CellRecord, batch_reduce_ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "dpf", offsetof(CellRecord, dpf), dpf);
  return t;
}

Hid sample_type() {
  Hid t(H5Tcreate(H5T_COMPOUND, sizeof(SampleRecord)), H5Tclose);
  H5Tinsert(t, "cell", offsetof(SampleRecord, cell), H5T_NATIVE_UINT32);
  H5Tinsert(t, "path", offsetof(SampleRecord, path), H5T_NATIVE_UINT8);
  H5Tinsert(t, "iteration", offsetof(SampleRecord, iteration), H5T_NATIVE_UINT32);
  H5Tinsert(t, "ms", offsetof(SampleRecord, ms), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "reduce_ms", offsetof(SampleRecord, reduce_ms), H5T_NATIVE_DOUBLE);
  return t;
}

Hid packed(hid_t mem_type) {
  Hid t(H5Tcopy(mem_type), H5Tclose);
  H5Tpack(t);
  return t;
}

void copy_text(char* dst, std::size_t size, const std::string& src) {
  std::memset(dst, 0, size);
  std::memcpy(dst, src.data(), std::min(src.size(), size - 1));
}

std::string read_text(const char* src, std::size_t size) {
  return std::string(src, strnlen(src, size));
}

CellRecord to_record(const CellRow& r) {
  CellRecord c{};
  copy_text(c.strategy, sizeof c.strategy, r.strategy);
  copy_text(c.mode, sizeof c.mode, r.mode);
  c.streams = r.streams;
  c.cuda_graph = r.cuda_graph;
  c.tile = r.tile;
  c.threshold = r.threshold;
  c.queries = r.queries;
  c.concurrency = r.concurrency;
  c.iterations = r.iterations;
  c.warmup = r.warmup;
  const auto put = [](double (&dst)[5], const Stats& s) {
    dst[0] = s.min, dst[1] = s.median, dst[2] = s.mean, dst[3] = s.stddev, dst[4] = s.max;
  };
  put(c.single_ms, r.single_ms);
  put(c.batch_ms, r.batch_ms);
  c.single_qps = r.single_qps;
  c.batch_qps = r.batch_qps;
  c.speedup = r.speedup;
  c.single_checksum = r.single_checksum;
  c.batch_checksum = r.batch_checksum;
  c.checksum_match = r.checksum_match ? 1 : 0;
  c.bandwidth_gbs = r.bandwidth_gbs;
  c.single_reduce_ms = r.single_reduce_ms;
  c.batch_reduce_ms = r.batch_reduce_ms;
  copy_text(c.dpf, sizeof c.dpf, r.dpf);
  return c;
}

CellRow from_record(const CellRecord& c) {
  CellRow r;
  r.strategy = read_text(c.strategy, sizeof c.strategy);
  r.mode = read_text(c.mode, sizeof c.mode);
  r.streams = c.streams;
  r.cuda_graph = c.cuda_graph != 0;
  r.tile = c.tile;
  r.threshold = c.threshold;
  r.queries = c.queries;
  r.concurrency = c.concurrency;
  r.iterations = c.iterations;
  r.warmup = c.warmup;
  const auto get = [](const double (&src)[5]) { return Stats{src[0], src[1], src[2], src[3], src[4]}; };
  r.single_ms = get(c.single_ms);
  r.batch_ms = get(c.batch_ms);
  r.single_qps = c.single_qps;
  r.batch_qps = c.batch_qps;
  r.speedup = c.speedup;
  r.single_checksum = c.single_checksum;
  r.batch_checksum = c.batch_checksum;
  r.checksum_match = c.checksum_match != 0;
  r.bandwidth_gbs = c.bandwidth_gbs;
  r.single_reduce_ms = c.single_reduce_ms;
  r.batch_reduce_ms = c.batch_reduce_ms;
  r.dpf = read_text(c.dpf, sizeof c.dpf);
  if (r.dpf.empty()) r.dpf = "morphogen";  // runs before packed keys had Morphogen's only
  return r;
}

// ------------------------------------------------------------- attributes

Hid vlen_string() {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

// Writes (or rewrites) one attribute. An attribute of the same name is
// rewritten in place when its type class and shape fit, so that the creation
// order of attributes survives checkpoints; otherwise it is replaced.
void write_attribute(hid_t obj, const std::string& path, const Attribute& attr) {
  Hid type, space;
  const void* data = nullptr;
  std::vector<const char*> strings;
  const char* one_string = nullptr;
  hsize_t n = 0;
  if (const auto* s = std::get_if<std::string>(&attr.value)) {
    type = vlen_string();
    space = Hid(H5Screate(H5S_SCALAR), H5Sclose);
    one_string = s->c_str();
    data = &one_string;
  } else if (const auto* i = std::get_if<std::int64_t>(&attr.value)) {
    type = Hid(H5Tcopy(H5T_NATIVE_INT64), H5Tclose);
    space = Hid(H5Screate(H5S_SCALAR), H5Sclose);
    data = i;
  } else if (const auto* u = std::get_if<std::uint64_t>(&attr.value)) {
    type = Hid(H5Tcopy(H5T_NATIVE_UINT64), H5Tclose);
    space = Hid(H5Screate(H5S_SCALAR), H5Sclose);
    data = u;
  } else if (const auto* d = std::get_if<double>(&attr.value)) {
    type = Hid(H5Tcopy(H5T_NATIVE_DOUBLE), H5Tclose);
    space = Hid(H5Screate(H5S_SCALAR), H5Sclose);
    data = d;
  } else if (const auto* li = std::get_if<std::vector<std::int64_t>>(&attr.value)) {
    type = Hid(H5Tcopy(H5T_NATIVE_INT64), H5Tclose);
    n = li->size();
    space = n ? Hid(H5Screate_simple(1, &n, nullptr), H5Sclose) : Hid(H5Screate(H5S_NULL), H5Sclose);
    data = li->data();
  } else {
    const auto& ls = std::get<std::vector<std::string>>(attr.value);
    type = vlen_string();
    for (const std::string& item : ls) strings.push_back(item.c_str());
    n = strings.size();
    space = n ? Hid(H5Screate_simple(1, &n, nullptr), H5Sclose) : Hid(H5Screate(H5S_NULL), H5Sclose);
    data = strings.data();
  }
  const char* name = attr.name.c_str();
  if (H5Aexists(obj, name) > 0) {
    bool reuse = false;
    {
      Hid old(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
      Hid old_type(H5Aget_type(old), H5Tclose), old_space(H5Aget_space(old), H5Sclose);
      reuse = old.valid() && old_type.valid() && old_space.valid() && H5Tequal(old_type, type) > 0 &&
              H5Sextent_equal(old_space, space) > 0;
      if (reuse) {
        if (H5Sget_simple_extent_type(space) != H5S_NULL)
          must_ok(H5Awrite(old, type, data), path, "rewriting an attribute");
        return;
      }
    }
    must_ok(H5Adelete(obj, name), path, "replacing an attribute");
  }
  Hid a(must(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), path,
              "creating an attribute"),
        H5Aclose);
  if (H5Sget_simple_extent_type(space) != H5S_NULL)
    must_ok(H5Awrite(a, type, data), path, "writing an attribute");
}

struct AttrReadContext {
  RunRecord* run;
  std::string path;
  std::uint64_t file_bytes;  // what the attributes' declared sizes are checked against
};

// Refuses `count` elements of `element_bytes` each that the file cannot hold (a
// damaged or hostile header declares any size): checked before anything is allocated.
void check_declared(const std::string& path, const std::string& what, std::uint64_t count,
                    std::uint64_t element_bytes, std::uint64_t file_bytes) {
  if (element_bytes != 0 && count > file_bytes / element_bytes)
    fail(path, what + " declares " + std::to_string(count) + " elements of " + std::to_string(element_bytes) +
                   " bytes, more than the file's " + std::to_string(file_bytes) + " bytes hold (damaged?)");
}

std::vector<std::string> read_strings(hid_t attr, hid_t file_type, hid_t space) {
  const hssize_t n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  std::vector<std::string> out;
  if (n <= 0) return out;
  if (H5Tis_variable_str(file_type) > 0) {
    Hid mem = vlen_string();
    std::vector<char*> buf(static_cast<std::size_t>(n), nullptr);
    if (H5Aread(attr, mem, buf.data()) < 0) return out;
    for (char* s : buf) {
      out.emplace_back(s ? s : "");
      if (s) H5free_memory(s);
    }
  } else {
    const std::size_t size = H5Tget_size(file_type);
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem, size);
    std::vector<char> buf(size * static_cast<std::size_t>(n), '\0');
    if (H5Aread(attr, mem, buf.data()) < 0) return out;
    for (hssize_t i = 0; i < n; ++i) out.push_back(read_text(buf.data() + i * size, size));
  }
  return out;
}

herr_t read_one_attribute(hid_t obj, const char* name, const H5A_info_t*, void* op_data) {
  auto* ctx = static_cast<AttrReadContext*>(op_data);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return 0;
  Hid type(H5Aget_type(attr), H5Tclose), space(H5Aget_space(attr), H5Sclose);
  const bool scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
  const hssize_t n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  if (n < 0) return 0;
  check_declared(ctx->path, std::string("attribute ") + name, static_cast<std::uint64_t>(n), H5Tget_size(type),
                 ctx->file_bytes);
  switch (H5Tget_class(type)) {
    case H5T_STRING: {
      auto strings = read_strings(attr, type, space);
      if (scalar) ctx->run->set(name, strings.empty() ? std::string() : strings.front());
      else ctx->run->set(name, std::move(strings));
      break;
    }
    case H5T_INTEGER: {
      if (scalar && H5Tget_sign(type) == H5T_SGN_NONE) {
        std::uint64_t v = 0;
        if (H5Aread(attr, H5T_NATIVE_UINT64, &v) >= 0) ctx->run->set(name, v);
      } else if (scalar) {
        std::int64_t v = 0;
        if (H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0) ctx->run->set(name, v);
      } else {
        std::vector<std::int64_t> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
        if (v.empty() || H5Aread(attr, H5T_NATIVE_INT64, v.data()) >= 0) ctx->run->set(name, v);
      }
      break;
    }
    case H5T_FLOAT: {
      if (scalar) {
        double v = 0;
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) >= 0) ctx->run->set(name, v);
      }
      break;
    }
    default:
      break;  // not ours: ignored
  }
  return 0;
}

// --------------------------------------------------------------- datasets

// Appends rows [from, rows.size()) to a 1-D chunked dataset, creating it if needed.
template <class Record>
void append_rows(hid_t group, const std::string& path, const char* name, hid_t mem_type,
                 const std::vector<Record>& rows, std::size_t from, hsize_t chunk) {
  Hid dset;
  if (link_exists(group, name)) {
    dset = Hid(must(H5Dopen2(group, name, H5P_DEFAULT), path, "opening a dataset"), H5Dclose);
  } else {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    Hid space(H5Screate_simple(1, &zero, &unlimited), H5Sclose);
    Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl, 1, &chunk);
    Hid file_type = packed(mem_type);
    dset = Hid(must(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), path,
                     "creating a dataset"),
               H5Dclose);
  }
  const hsize_t total = rows.size();
  must_ok(H5Dset_extent(dset, &total), path, "extending a dataset");
  if (from >= rows.size()) return;
  const hsize_t start = from, count = rows.size() - from;
  Hid file_space(H5Dget_space(dset), H5Sclose);
  must_ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr), path,
          "selecting rows");
  Hid mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
  must_ok(H5Dwrite(dset, mem_type, mem_space, file_space, H5P_DEFAULT, rows.data() + from), path,
          "writing rows");
}

// The members of `mem_type` that `file_type` has too, at their offsets: a run
// written before a column existed reads with that column left as initialised.
Hid readable_members(hid_t mem_type, hid_t file_type) {
  Hid out(H5Tcreate(H5T_COMPOUND, H5Tget_size(mem_type)), H5Tclose);
  const int n = H5Tget_nmembers(mem_type);
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(mem_type, static_cast<unsigned>(i));
    if (!name) continue;
    if (H5Tget_member_index(file_type, name) >= 0) {
      Hid member(H5Tget_member_type(mem_type, static_cast<unsigned>(i)), H5Tclose);
      H5Tinsert(out, name, H5Tget_member_offset(mem_type, static_cast<unsigned>(i)), member);
    }
    H5free_memory(name);
  }
  return out;
}

// A dataset's declared rows, checked against what the file can hold before they
// are allocated: unfiltered rows are stored whole, so they fit in the file; a
// filtered (compressed) dataset must fit in memory.
std::uint64_t declared_rows(hid_t dset, hid_t space, hid_t file_type, const std::string& path, const char* name,
                            std::size_t record_bytes, std::uint64_t file_bytes) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0 || H5Sget_simple_extent_ndims(space) != 1)
    fail(path, std::string("dataset ") + name + " is not a table (not a pagequery sweep layout?)");
  const auto rows = static_cast<std::uint64_t>(n);
  Hid dcpl(H5Dget_create_plist(dset), H5Pclose);
  if (!dcpl.valid() || H5Pget_nfilters(dcpl) == 0) {
    check_declared(path, std::string("dataset ") + name, rows, H5Tget_size(file_type), file_bytes);
  } else if (rows > (std::uint64_t{1} << 62) / record_bytes ||
             !fits_in(rows * record_bytes, host_memory_available())) {
    fail(path, std::string("dataset ") + name + " declares " + std::to_string(rows) +
                   " rows, more than the memory available holds");
  }
  return rows;
}

template <class Record>
std::vector<Record> read_rows(hid_t group, const std::string& path, const char* name, hid_t mem_type,
                              std::uint64_t file_bytes) {
  std::vector<Record> rows;
  if (!link_exists(group, name)) return rows;
  Hid dset(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) fail(path, std::string("cannot open dataset ") + name);
  Hid space(H5Dget_space(dset), H5Sclose);
  Hid file_type(H5Dget_type(dset), H5Tclose);
  if (!space.valid() || !file_type.valid() || H5Tget_class(file_type) != H5T_COMPOUND)
    fail(path, std::string("dataset ") + name + " is not a table (not a pagequery sweep layout?)");
  const std::uint64_t n = declared_rows(dset, space, file_type, path, name, sizeof(Record), file_bytes);
  rows.resize(static_cast<std::size_t>(n));  // value-initialised: absent columns read as 0
  Hid read_type = readable_members(mem_type, file_type);
  if (n > 0 && H5Dread(dset, read_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) < 0)
    fail(path, std::string("cannot read dataset ") + name + " (not a pagequery sweep layout?)");
  return rows;
}

// ------------------------------------------------------------ file system

// An advisory lock on a sibling lock file, held for one commit and removed with
// it, so nothing stays beside the results. A writer that waited may hold the lock
// of a file its predecessor already removed: it locks whatever is at the path
// then. File systems without flock (ENOLCK, EOPNOTSUPP) are written unlocked.
class DirLock {
 public:
  explicit DirLock(fs::path lock_path) : path_(std::move(lock_path)) {
    for (;;) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      if (fd_ < 0) fail(path_.string(), std::string("cannot create the lock file: ") + std::strerror(errno));
      int rc;
      while ((rc = ::flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
      }
      if (rc != 0 || is_at_path()) return;  // no lock support: go on unlocked
      ::close(fd_);
    }
  }
  ~DirLock() {
    ::unlink(path_.c_str());  // under the lock: waiters then find another file
    ::close(fd_);             // closing releases the lock
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  bool is_at_path() const {
    struct stat held, named;
    return ::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
           held.st_ino == named.st_ino;
  }

  fs::path path_;
  int fd_ = -1;
};

// Writes `bytes` to the new file `p` (mode `mode`, before the umask) and fsyncs it;
// errors name `path`, the file it will replace.
void write_new_file(const fs::path& p, const std::vector<char>& bytes, mode_t mode, const std::string& path) {
  const auto failed = [&](int err) { fail(path, "cannot write " + printable(p.string()) + ": " + std::strerror(err)); };
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) failed(errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      failed(err);
    }
    done += static_cast<std::size_t>(n);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  if (::close(fd) != 0 || rc != 0) failed(rc ? err : errno);
}

// Makes a rename in `dir` durable (file systems that cannot fsync a directory are fine).
void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir.string(), std::string("cannot open for fsync: ") + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS) fail(dir.string(), std::string("fsync failed: ") + std::strerror(err));
}

// The file to replace: symbolic links are followed so that the link survives.
fs::path target_of(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_symlink(p, ec)) {
    const fs::path resolved = fs::weakly_canonical(p, ec);
    if (!ec) return resolved;
  }
  return p;
}

fs::path sibling(const fs::path& target, const std::string& suffix) {
  return target.parent_path() / ("." + target.filename().string() + suffix);
}

// Removes the temporary copy unless it was committed (or the process aborts).
struct TempFile {
  fs::path path;
  bool keep = false;
  ~TempFile() {
    if (!keep) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

// Run ids sort by their timestamp, then by the numeric suffix ("-2", "-10").
std::pair<std::string, long> run_sort_key(const std::string& id) {
  const auto dash = id.rfind('-');
  if (dash != std::string::npos && dash + 1 < id.size() &&
      std::all_of(id.begin() + static_cast<long>(dash) + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      id.size() - dash <= 10)
    return {id.substr(0, dash), std::stol(id.substr(dash + 1))};
  return {id, 1};
}

herr_t collect_link(hid_t, const char* name, const H5L_info_t*, void* op_data) {
  static_cast<std::vector<std::string>*>(op_data)->emplace_back(name);
  return 0;
}

}  // namespace

// ------------------------------------------------------------- public API

std::string run_summary_markdown(const RunRecord& run) {
  std::string out = "## pagequery sweep " + markdown_text(run.id) + "\n\n";
  const auto line = [&](const std::string& label, const std::string& value) {
    if (!value.empty()) out += "- " + label + ": " + markdown_text(value) + "\n";
  };
  std::string device = run.text("device");
  if (run.find("kokkos_backend"))
    device += " (Kokkos " + run.text("kokkos_version") + ", " + run.text("kokkos_backend") + ")";
  line("device", device);
  line("accumulate", accumulate_of(run));
  line("dpf", run.text("dpf", "morphogen"));
  const std::optional<double> floor = read_floor_of(run);
  const std::optional<double> floor_gbs = double_attribute(run, "read_floor_gbs");
  line("read floor", floor ? fixed(*floor, 3) + " ms" + (floor_gbs ? ", " + fixed(*floor_gbs, 1) + " GB/s" : "") +
                                 " (a plain streaming read of the matrix, the fastest of " +
                                 run.text("read_floor_repetitions", "?") + ")"
                           : std::string("n/a (run written before the read floor was measured)"));
  std::string matrix = run.text("matrix", run.text("matrix_source"));
  if (run.find("pages")) {
    matrix += ", " + run.text("pages") + " pages, d = " + run.text("domain_bits");
    if (const auto* bytes = run.find("size_bytes"); bytes && std::holds_alternative<std::uint64_t>(*bytes))
      matrix += ", " + human_bytes(std::get<std::uint64_t>(*bytes));
  }
  line("matrix", matrix);
  if (run.find("iterations"))
    line("settings", "iterations=" + run.text("iterations") + ", warmup=" + run.text("warmup") +
                         ", concurrency=" + run.text("concurrency") + ", seed=" + run.text("seed"));
  line("single loop", run.text("single_policy"));
  line("env switches", run.text("env_switches"));
  const auto* ranks = run.find("mpi_ranks");
  const bool scaled_out = ranks && std::holds_alternative<std::int64_t>(*ranks) && std::get<std::int64_t>(*ranks) > 1;
  if (scaled_out)
    line("ranks", run.text("mpi_ranks") + " (MPI, answers XOR-reduced into rank 0; shards [first, count] " +
                      run.text("shard_layout") + ")");
  std::string where = run.text("host");
  if (run.find("slurm_job_id")) where += ", Slurm job " + run.text("slurm_job_id");
  if (run.find("slurm_job_nodelist")) where += " on " + run.text("slurm_job_nodelist");
  line("host", where);
  line("git", run.text("git_revision"));
  line("started", run.text("started_utc"));
  std::string status = run.text("status", "unknown");
  if (run.find("cells_planned"))
    status += " (" + std::to_string(run.cells.size()) + " of " + run.text("cells_planned") + " cells)";
  line("status", status);
  out += "\n" + markdown_tables(run.cells);
  if (!run.cells.empty()) out += "\n" + read_floor_tables(run.cells, floor);
  if (scaled_out && !run.cells.empty()) out += "\n" + reduction_tables(run.cells);
  return out;
}

void check_results_target(const std::string& path, const ReadGuard& guard) {
  quiet_hdf5();
  std::error_code ec;
  const fs::path target = target_of(path);
  if (fs::exists(target, ec)) {
    if (!fs::is_regular_file(target, ec)) fail(path, "exists and is not a regular file");
    if (!is_hdf5(target.string()))
      fail(path, "exists and is not an HDF5 file (refusing to overwrite it)");
    // Every run is read once (a file without /runs is refused), in a child: a
    // damaged file must stop the sweep now, not crash its first commit.
    guard(path, [&] {
      for (const std::string& id : list_runs(target.string())) read_run(target.string(), id, false);
    });
    if (::access(target.c_str(), W_OK) != 0) fail(path, std::strerror(errno));
  }
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(dir, ec)) fail(path, "the directory " + printable(dir.string()) + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(path, "the directory " + printable(dir.string()) + " is not writable: " + std::strerror(errno));
  // A commit writes the siblings ".<name>.<pid>.tmp" and ".<name>.lock".
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const std::size_t sibling_bytes = sibling(target, ".4294967295.tmp").filename().string().size();
  if (name_max > 0 && sibling_bytes > static_cast<std::size_t>(name_max))
    fail(path, "the file name is too long: its temporary sibling would need " + std::to_string(sibling_bytes) +
                   " bytes, the file system allows " + std::to_string(name_max));
  const fs::path lock = sibling(target, ".lock");
  if (fs::exists(lock, ec) && (!fs::is_regular_file(lock, ec) || ::access(lock.c_str(), R_OK | W_OK) != 0))
    fail(path, "its lock file " + printable(lock.string()) + " is not a writable regular file");
}

ResultsWriter::ResultsWriter(std::string path) : path_(std::move(path)) {}

void ResultsWriter::commit(RunRecord& run) {
  quiet_hdf5();
  const fs::path target = target_of(path_);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  DirLock lock(sibling(target, ".lock"));
  TempFile tmp{sibling(target, "." + std::to_string(::getpid()) + ".tmp")};
  std::error_code ec;
  fs::remove(tmp.path, ec);

  std::vector<char> image;
  struct stat old {};
  const mode_t mode = ::stat(target.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0666;
  {
    Hid fapl = memory_access();
    Hid file;
    if (fs::exists(target, ec)) {
      if (!is_hdf5(target.string())) fail(path_, "not an HDF5 file (refusing to overwrite it)");
      if (!fits_in(2 * static_cast<std::uint64_t>(old.st_size), host_memory_available()))
        fail(path_, "too large to rewrite in the memory available");
      file = Hid(H5Fopen(target.c_str(), H5F_ACC_RDWR, fapl), H5Fclose);  // read into memory, never written
      if (!file.valid()) fail(path_, "cannot open the HDF5 file for writing (damaged?)");
      if (!link_exists(file, "runs"))
        fail(path_, "an HDF5 file without a /runs group (not written by pagequery sweep)");
    } else {
      file = Hid(H5Fcreate(tmp.path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), H5Fclose);  // in memory
      if (!file.valid()) fail(path_, "HDF5 error: creating the file");
      write_attribute(file, path_, {"format", std::string("pagequery-sweep-results")});
      write_attribute(file, path_, {"format_version", std::int64_t{1}});
      Hid runs(must(H5Gcreate2(file, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_,
                     "creating /runs"),
               H5Gclose);
    }
    Hid runs(must(H5Gopen2(file, "runs", H5P_DEFAULT), path_, "opening /runs"), H5Gclose);

    if (!claimed_) {
      const std::string base = run.id.empty() ? std::string("run") : run.id;
      std::string id = base;
      for (int k = 2; link_exists(runs, id.c_str()); ++k) id = base + "-" + std::to_string(k);
      run.id = id;
    }
    Hid group;
    if (link_exists(runs, run.id.c_str())) {
      group = Hid(must(H5Gopen2(runs, run.id.c_str(), H5P_DEFAULT), path_, "opening the run"), H5Gclose);
    } else {  // first commit (or the group went missing since): all rows again
      Hid gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
      H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
      group = Hid(must(H5Gcreate2(runs, run.id.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), path_,
                        "creating the run group"),
                  H5Gclose);
      cells_written_ = samples_written_ = 0;
      attributes_written_.clear();
      write_attribute(group, path_, {"run_id", run.id});
    }
    // Unchanged attributes stay as they are (a rewritten string takes new heap space).
    for (const Attribute& a : run.attributes) {
      const auto same = std::find_if(attributes_written_.begin(), attributes_written_.end(),
                                     [&](const Attribute& w) { return w.name == a.name && w.value == a.value; });
      if (same == attributes_written_.end()) write_attribute(group, path_, a);
    }

    std::vector<CellRecord> cells;
    cells.reserve(run.cells.size());
    for (const CellRow& r : run.cells) cells.push_back(to_record(r));
    std::vector<SampleRecord> samples;
    samples.reserve(run.samples.size());
    for (const Sample& s : run.samples) samples.push_back({s.cell, s.path, s.iteration, s.ms, s.reduce_ms});
    Hid ct = cell_type(), st = sample_type();
    append_rows(group, path_, "cells", ct, cells, cells_written_, 64);
    if (abort_midway) {
      std::fputs("pagequery: test hook: aborting in the middle of a results commit\n", stderr);
      std::abort();
    }
    append_rows(group, path_, "samples", st, samples, samples_written_, 1024);

    group.reset();
    runs.reset();
    image = file_image(file, path_);
    if (!file.reset()) fail(path_, "HDF5 error: closing the file in memory");
  }
  write_new_file(tmp.path, image, mode, path_);
  if (::rename(tmp.path.c_str(), target.c_str()) != 0)
    fail(path_, std::string("cannot replace the file: ") + std::strerror(errno));
  tmp.keep = true;
  fsync_dir(dir);

  claimed_ = true;
  attributes_written_ = run.attributes;
  cells_written_ = run.cells.size();
  samples_written_ = run.samples.size();
}

std::vector<std::string> list_runs(const std::string& path) {
  Hid file = open_results_read(path);
  Hid runs(H5Gopen2(file, "runs", H5P_DEFAULT), H5Gclose);
  std::vector<std::string> ids;
  if (!runs.valid() || H5Literate(runs, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link, &ids) < 0)
    fail(path, "cannot list /runs");
  std::stable_sort(ids.begin(), ids.end(),
                   [](const std::string& a, const std::string& b) { return run_sort_key(a) < run_sort_key(b); });
  return ids;
}

RunRecord read_run(const std::string& path, const std::string& id, bool with_samples) {
  Hid file = open_results_read(path);
  const std::string where = "runs/" + id;
  if (id.empty() || id.find('/') != std::string::npos || !link_exists(file, where.c_str()))
    fail(path, "no run '" + id + "'");
  Hid group(H5Gopen2(file, where.c_str(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(path, "run '" + id + "' is not a group");
  RunRecord run;
  run.id = id;
  std::error_code ec;
  const std::uint64_t file_bytes = fs::file_size(path, ec);
  if (ec) fail(path, "cannot stat: " + ec.message());
  AttrReadContext ctx{&run, path, file_bytes};
  hsize_t idx = 0;
  if (H5Aiterate2(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, read_one_attribute, &ctx) < 0) {
    run.attributes.clear();
    idx = 0;
    H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, &idx, read_one_attribute, &ctx);
  }
  Hid ct = cell_type();
  for (const CellRecord& c : read_rows<CellRecord>(group, path, "cells", ct, file_bytes))
    run.cells.push_back(from_record(c));
  if (with_samples) {
    Hid st = sample_type();
    for (const SampleRecord& s : read_rows<SampleRecord>(group, path, "samples", st, file_bytes))
      run.samples.push_back({s.cell, s.path, s.iteration, s.ms, s.reduce_ms});
  }
  return run;
}

}  // namespace pagequery::bench
