#include "bench/results/attributes.hpp"

#include "bench/results/read_limits.hpp"

#include <algorithm>
#include <vector>

namespace pagequery::bench::results {

namespace {

Hid scalar_space() { return Hid(H5Screate(H5S_SCALAR), H5Sclose); }

Hid list_space(hsize_t n) {
  return n ? Hid(H5Screate_simple(1, &n, nullptr), H5Sclose) : Hid(H5Screate(H5S_NULL), H5Sclose);
}

Hid native(hid_t type) { return Hid(H5Tcopy(type), H5Tclose); }

// An attribute value as HDF5 takes it: its type, its dataspace and its data.
struct AttrData {
  Hid type, space;
  const void* data = nullptr;
  std::vector<const char*> strings;  // the C strings of a string or a list of them

  explicit AttrData(const AttrValue& value);
  AttrData(const AttrData&) = delete;
  AttrData& operator=(const AttrData&) = delete;
  bool empty() const { return H5Sget_simple_extent_type(space) == H5S_NULL; }
};

AttrData::AttrData(const AttrValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    strings = {s->c_str()};
    type = vlen_string(), space = scalar_space(), data = strings.data();
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    type = native(H5T_NATIVE_INT64), space = scalar_space(), data = i;
  } else if (const auto* u = std::get_if<std::uint64_t>(&value)) {
    type = native(H5T_NATIVE_UINT64), space = scalar_space(), data = u;
  } else if (const auto* d = std::get_if<double>(&value)) {
    type = native(H5T_NATIVE_DOUBLE), space = scalar_space(), data = d;
  } else if (const auto* li = std::get_if<std::vector<std::int64_t>>(&value)) {
    type = native(H5T_NATIVE_INT64), space = list_space(li->size()), data = li->data();
  } else {
    for (const std::string& item : std::get<std::vector<std::string>>(value)) strings.push_back(item.c_str());
    type = vlen_string(), space = list_space(strings.size()), data = strings.data();
  }
}

// Rewrites the attribute `name` in place when its type and shape are `v`'s;
// false (nothing written) when they are not.
bool rewrite_in_place(hid_t obj, const char* name, const AttrData& v, const std::string& path) {
  Hid old(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Hid old_type(H5Aget_type(old), H5Tclose), old_space(H5Aget_space(old), H5Sclose);
  if (!old.valid() || !old_type.valid() || !old_space.valid() || H5Tequal(old_type, v.type) <= 0 ||
      H5Sextent_equal(old_space, v.space) <= 0)
    return false;
  if (!v.empty()) must_ok(H5Awrite(old, v.type, v.data), path, "rewriting an attribute");
  return true;
}

struct AttrReadContext {
  RunRecord* run;
  std::string path;
  std::uint64_t file_bytes;  // what the attributes' declared sizes are checked against
};

std::vector<std::string> read_strings(hid_t attr, hid_t file_type, hssize_t n) {
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
    for (hssize_t i = 0; i < n; ++i) out.push_back(fixed_text(buf.data() + i * size, size));
  }
  return out;
}

// An integer attribute: unsigned or signed scalar, or a list (read as signed).
void read_integer(hid_t attr, hid_t type, bool scalar, hssize_t n, const char* name, RunRecord& run) {
  if (scalar && H5Tget_sign(type) == H5T_SGN_NONE) {
    std::uint64_t v = 0;
    if (H5Aread(attr, H5T_NATIVE_UINT64, &v) >= 0) run.set(name, v);
  } else if (scalar) {
    std::int64_t v = 0;
    if (H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0) run.set(name, v);
  } else {
    std::vector<std::int64_t> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
    if (v.empty() || H5Aread(attr, H5T_NATIVE_INT64, v.data()) >= 0) run.set(name, v);
  }
}

herr_t read_one_attribute(hid_t obj, const char* name, const H5A_info_t*, void* op_data) {
  auto* ctx = static_cast<AttrReadContext*>(op_data);
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return 0;
  Hid type(H5Aget_type(attr), H5Tclose), space(H5Aget_space(attr), H5Sclose);
  const bool scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
  const hssize_t n = H5Sget_simple_extent_type(space) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
  if (n < 0) return 0;
  const std::string what = std::string("attribute ") + name;
  check_declared(ctx->path, what, static_cast<std::uint64_t>(n), H5Tget_size(type), ctx->file_bytes);
  // In memory: the values as read, then as strings (or 8-byte numbers).
  check_in_memory(ctx->path, what, static_cast<std::uint64_t>(n), 2 * H5Tget_size(type) + sizeof(std::string));
  switch (H5Tget_class(type)) {
    case H5T_STRING: {
      auto strings = read_strings(attr, type, n);
      if (scalar)
        ctx->run->set(name, strings.empty() ? std::string() : strings.front());
      else
        ctx->run->set(name, std::move(strings));
      break;
    }
    case H5T_INTEGER:
      read_integer(attr, type, scalar, n, name, *ctx->run);
      break;
    case H5T_FLOAT: {
      double v = 0;
      if (scalar && H5Aread(attr, H5T_NATIVE_DOUBLE, &v) >= 0) ctx->run->set(name, v);
      break;
    }
    default:
      break;  // not ours: ignored
  }
  return 0;
}

}  // namespace

void write_attribute(hid_t obj, const std::string& path, const Attribute& attr) {
  const AttrData v(attr.value);
  const char* name = attr.name.c_str();
  if (H5Aexists(obj, name) > 0) {
    if (rewrite_in_place(obj, name, v, path)) return;
    must_ok(H5Adelete(obj, name), path, "replacing an attribute");
  }
  Hid a(must(H5Acreate2(obj, name, v.type, v.space, H5P_DEFAULT, H5P_DEFAULT), path, "creating an attribute"),
        H5Aclose);
  if (!v.empty()) must_ok(H5Awrite(a, v.type, v.data), path, "writing an attribute");
}

void read_attributes(hid_t group, RunRecord& run, const std::string& path, std::uint64_t file_bytes) {
  AttrReadContext ctx{&run, path, file_bytes};
  hsize_t idx = 0;
  if (H5Aiterate2(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, read_one_attribute, &ctx) < 0) {
    run.attributes.clear();
    idx = 0;
    H5Aiterate2(group, H5_INDEX_NAME, H5_ITER_INC, &idx, read_one_attribute, &ctx);
  }
}

}  // namespace pagequery::bench::results
