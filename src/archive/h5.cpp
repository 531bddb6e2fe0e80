#include "h5.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

namespace mpisweep::archive::h5 {

void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {

herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
  auto& frames = *static_cast<std::vector<std::string>*>(data);
  std::string line = e->desc ? e->desc : "";
  if (line.empty()) {
    char buf[256] = {};
    if (H5Eget_msg(e->min_num, nullptr, buf, sizeof buf) > 0) line = buf;
  }
  (void)n;
  // sec2's messages embed ctime(), which ends in a newline: errors are one line.
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (!line.empty() && (frames.empty() || frames.back() != line)) frames.push_back(line);
  return 0;
}

}  // namespace

std::string take_error_stack() {
  std::vector<std::string> frames;
  // Upward: innermost (the root cause) first.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &frames);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  for (const auto& f : frames) {
    if (!out.empty()) out += "; ";
    out += f;
  }
  return out;
}

bool is_lock_conflict(const std::string& stack) {
  // sec2 puts the flock errno in its message: "unable to lock file, errno = 11, ...".
  return stack.find("lock file, errno = " + std::to_string(EWOULDBLOCK) + ",") != std::string::npos;
}

File open_file(const std::string& path, unsigned flags, hid_t fapl, std::string& stack) {
  using clock = std::chrono::steady_clock;
  const auto give_up = clock::now() + std::chrono::duration<double>(lock_wait_seconds);
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    File f(H5Fopen(path.c_str(), flags, fapl));
    if (f) {
      stack.clear();
      return f;
    }
    stack = take_error_stack();
    if (!is_lock_conflict(stack) || clock::now() >= give_up) return f;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

void fail(std::string_view what) {
  std::string stack = take_error_stack();
  std::string msg(what);
  if (!stack.empty()) msg += ": " + stack;
  throw archive_error(msg);
}

Datatype copy_type(hid_t t) { return Datatype(check(H5Tcopy(t), "H5Tcopy")); }

Datatype string_type(std::size_t size) {
  Datatype t = copy_type(H5T_C_S1);
  check(H5Tset_size(t.id(), size == 0 ? 1 : size), "H5Tset_size");
  // Null-terminated rather than null-padded: both read as numpy "S<n>" in h5py, but h5dump prints
  // a null-padded string with all its padding ("\000" x 4096 for an empty command line).
  check(H5Tset_strpad(t.id(), H5T_STR_NULLTERM), "H5Tset_strpad");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

Datatype status_type() {
  Datatype t(check(H5Tenum_create(H5T_NATIVE_INT8), "H5Tenum_create"));
  const char* names[] = {"pending", "done", "failed", "timeout"};
  for (std::int8_t v = 0; v < 4; ++v) check(H5Tenum_insert(t.id(), names[v], &v), "H5Tenum_insert");
  return t;
}

Datatype bool_type() {
  Datatype t(check(H5Tenum_create(H5T_NATIVE_INT8), "H5Tenum_create"));
  std::int8_t f = 0, tr = 1;
  check(H5Tenum_insert(t.id(), "FALSE", &f), "H5Tenum_insert");
  check(H5Tenum_insert(t.id(), "TRUE", &tr), "H5Tenum_insert");
  return t;
}

std::size_t type_size(hid_t type) {
  const std::size_t n = H5Tget_size(type);
  if (n == 0) fail("H5Tget_size");
  return n;
}

PropList file_access(bool latest) {
  PropList p(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(file access)"));
  if (latest)
    check(H5Pset_libver_bounds(p.id(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST),
          "H5Pset_libver_bounds");
  return p;
}

bool is_hdf5(const std::string& path) {
  htri_t r = H5Fis_hdf5(path.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

Group create_group(hid_t loc, const std::string& name, bool track_order) {
  PropList gcpl(check(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate(group create)"));
  if (track_order)
    check(H5Pset_link_creation_order(gcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
          "H5Pset_link_creation_order");
  return Group(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.id(), H5P_DEFAULT),
                     "create group " + name));
}

Group open_group(hid_t loc, const std::string& name) {
  return Group(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "open group " + name));
}

bool exists(hid_t loc, const std::string& name) {
  // H5Lexists checks one link; walk the path so "a/b" works when "a" is missing.
  std::size_t pos = 0;
  while (true) {
    std::size_t next = name.find('/', pos);
    std::string prefix = name.substr(0, next);
    if (check(H5Lexists(loc, prefix.c_str(), H5P_DEFAULT), "H5Lexists " + prefix) <= 0)
      return false;
    if (next == std::string::npos) return true;
    pos = next + 1;
  }
}

namespace {
herr_t add_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> children(hid_t group) {
  std::vector<std::string> names;
  PropList gcpl(check(H5Gget_create_plist(group), "H5Gget_create_plist"));
  unsigned flags = 0;
  check(H5Pget_link_creation_order(gcpl.id(), &flags), "H5Pget_link_creation_order");
  H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  hsize_t idx = 0;
  check(H5Literate(group, index, H5_ITER_INC, &idx, add_name, &names), "H5Literate");
  return names;
}

Filter default_filter(hid_t type) {
  const H5T_class_t cls = check(H5Tget_class(type), "H5Tget_class");
  return type_size(type) > 1 && (cls == H5T_INTEGER || cls == H5T_FLOAT) ? Filter::shuffle_deflate
                                                                         : Filter::deflate;
}

std::vector<H5Z_filter_t> filter_ids(Filter f) {
  switch (f) {
    case Filter::none: return {};
    case Filter::deflate: return {H5Z_FILTER_DEFLATE};
    case Filter::shuffle_deflate: return {H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE};
  }
  return {};
}

Dataset create_column(hid_t loc, const std::string& name, hid_t type, hsize_t chunk,
                      const void* fill, Filter filter) {
  hsize_t dims = 0, maxdims = H5S_UNLIMITED;
  Dataspace space(check(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple"));
  PropList dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)"));
  check(H5Pset_chunk(dcpl.id(), 1, &chunk), "H5Pset_chunk");
  if (filter == Filter::shuffle_deflate) check(H5Pset_shuffle(dcpl.id()), "H5Pset_shuffle");
  if (filter != Filter::none) check(H5Pset_deflate(dcpl.id(), 1), "H5Pset_deflate");
  if (fill) check(H5Pset_fill_value(dcpl.id(), type, fill), "H5Pset_fill_value");
  return Dataset(
      check(H5Dcreate2(loc, name.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
            "create dataset " + name));
}

Dataset create_scalar(hid_t loc, const std::string& name, hid_t type, const void* value) {
  Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Dataset d(
      check(H5Dcreate2(loc, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "create dataset " + name));
  check(H5Dwrite(d.id(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), "write " + name);
  return d;
}

Dataset open_dataset(hid_t loc, const std::string& name) {
  return Dataset(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "open dataset " + name));
}

hsize_t extent(hid_t dataset) {
  Dataspace space(check(H5Dget_space(dataset), "H5Dget_space"));
  hsize_t dims[H5S_MAX_RANK] = {};
  int rank =
      check(H5Sget_simple_extent_dims(space.id(), dims, nullptr), "H5Sget_simple_extent_dims");
  return rank == 1 ? dims[0] : (rank == 0 ? 1 : 0);
}

void set_extent(hid_t dataset, hsize_t n) { check(H5Dset_extent(dataset, &n), "H5Dset_extent"); }

namespace {
// The memory and file dataspaces of rows [first, first+count) of a 1-D dataset.
std::pair<Dataspace, Dataspace> row_spaces(hid_t dataset, hsize_t first, hsize_t count) {
  Dataspace mem(check(H5Screate_simple(1, &count, nullptr), "H5Screate_simple"));
  Dataspace file(check(H5Dget_space(dataset), "H5Dget_space"));
  check(H5Sselect_hyperslab(file.id(), H5S_SELECT_SET, &first, nullptr, &count, nullptr),
        "H5Sselect_hyperslab");
  return {std::move(mem), std::move(file)};
}
}  // namespace

void write_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, const void* data) {
  if (count == 0) return;
  const auto [mem, file] = row_spaces(dataset, first, count);
  check(H5Dwrite(dataset, mem_type, mem.id(), file.id(), H5P_DEFAULT, data), "H5Dwrite");
}

void read_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, void* data) {
  if (count == 0) return;
  const auto [mem, file] = row_spaces(dataset, first, count);
  check(H5Dread(dataset, mem_type, mem.id(), file.id(), H5P_DEFAULT, data), "H5Dread");
}

Datatype dataset_type(hid_t dataset) {
  return Datatype(check(H5Dget_type(dataset), "H5Dget_type"));
}

hsize_t storage_size(hid_t dataset) {
  // 0 is both "nothing allocated yet" and the failure value; the stack tells them apart.
  const hsize_t n = H5Dget_storage_size(dataset);
  if (n == 0) take_error_stack();
  return n;
}

Object open_object(hid_t loc, const std::string& name) {
  return Object(check(H5Oopen(loc, name.c_str(), H5P_DEFAULT), "open " + name));
}

namespace {
void write_attr(hid_t obj, const std::string& name, hid_t type, const void* value) {
  if (check(H5Aexists(obj, name.c_str()), "H5Aexists " + name) > 0)
    check(H5Adelete(obj, name.c_str()), "H5Adelete " + name);
  Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Attribute a(check(H5Acreate2(obj, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                    "create attribute " + name));
  check(H5Awrite(a.id(), type, value), "write attribute " + name);
}
}  // namespace

void set_attr(hid_t obj, const std::string& name, const std::string& value) {
  Datatype t = string_type(value.size() + 1);
  write_attr(obj, name, t.id(), value.c_str());
}

void set_attr(hid_t obj, const std::string& name, std::int64_t value) {
  write_attr(obj, name, H5T_NATIVE_INT64, &value);
}

void set_attr(hid_t obj, const std::string& name, double value) {
  write_attr(obj, name, H5T_NATIVE_DOUBLE, &value);
}

void set_attr(hid_t obj, const std::string& name, std::span<const std::int64_t> values) {
  if (check(H5Aexists(obj, name.c_str()), "H5Aexists " + name) > 0)
    check(H5Adelete(obj, name.c_str()), "H5Adelete " + name);
  const hsize_t n = values.size();
  Dataspace space(check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
  Attribute a(
      check(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
            "create attribute " + name));
  check(H5Awrite(a.id(), H5T_NATIVE_INT64, values.data()), "write attribute " + name);
}

double get_attr_double(hid_t obj, const std::string& name, double absent) {
  if (!has_attr(obj, name)) return absent;
  Attribute a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  double v = absent;
  check(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v), "read attribute " + name);
  return v;
}

std::vector<std::int64_t> get_attr_ints(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return {};
  Attribute a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Dataspace space(check(H5Aget_space(a.id()), "H5Aget_space"));
  const hssize_t n =
      check(H5Sget_simple_extent_npoints(space.id()), "H5Sget_simple_extent_npoints");
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  if (n > 0) check(H5Aread(a.id(), H5T_NATIVE_INT64, v.data()), "read attribute " + name);
  return v;
}

void set_attr(hid_t obj, const std::string& name, std::uint64_t value) {
  write_attr(obj, name, H5T_NATIVE_UINT64, &value);
}

bool has_attr(hid_t obj, const std::string& name) {
  return check(H5Aexists(obj, name.c_str()), "H5Aexists " + name) > 0;
}

namespace {

// Reads the `n` string elements of `space` in any form HDF5 allows, whoever wrote them:
// fixed-length (any size, null-terminated, null- or space-padded) or variable-length, ASCII or
// UTF-8, and hands each to `take(i, text)`. The memory type mirrors the file type (a cset or vlen
// mismatch has no conversion path in HDF5: "no appropriate function for conversion path"); `read`
// fills a buffer of that memory type.
template <class Read, class Take>
void read_strings(hid_t file_type, hid_t space, std::size_t n, const std::string& what, Read read,
                  Take take) {
  Datatype mt = copy_type(file_type);
  if (check(H5Tis_variable_str(file_type), "H5Tis_variable_str") > 0) {
    std::vector<char*> s(n, nullptr);
    check(read(mt.id(), s.data()), "read " + what);
    for (std::size_t i = 0; i < n; ++i) take(i, s[i] ? std::string_view(s[i]) : std::string_view());
    check(H5Dvlen_reclaim(mt.id(), space, H5P_DEFAULT, s.data()), "H5Dvlen_reclaim");
    return;
  }
  const std::size_t size = type_size(file_type);
  const bool space_padded = H5Tget_strpad(file_type) == H5T_STR_SPACEPAD;
  std::vector<char> buf(size * n + 1, '\0');
  check(read(mt.id(), buf.data()), "read " + what);
  for (std::size_t i = 0; i < n; ++i) {
    const char* in = buf.data() + i * size;
    const void* end = std::memchr(in, '\0', size);
    std::string_view text(in, end ? static_cast<const char*>(end) - in : size);
    if (space_padded) text = text.substr(0, text.find_last_not_of(' ') + 1);
    take(i, text);
  }
}

// One string element (the first of a non-scalar value, e.g. an h5py list attribute).
template <class Read>
std::string read_string(hid_t file_type, hid_t space, const std::string& what, Read read) {
  const hssize_t n = check(H5Sget_simple_extent_npoints(space), "H5Sget_simple_extent_npoints");
  std::string out;
  if (n <= 0) return out;
  read_strings(file_type, space, static_cast<std::size_t>(n), what, read,
               [&](std::size_t i, std::string_view text) {
                 if (i == 0) out = text;
               });
  return out;
}

}  // namespace

std::string get_attr_string(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return {};
  Attribute a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Datatype ft(check(H5Aget_type(a.id()), "H5Aget_type"));
  if (check(H5Tget_class(ft.id()), "H5Tget_class") != H5T_STRING) return {};
  Dataspace space(check(H5Aget_space(a.id()), "H5Aget_space"));
  return read_string(ft.id(), space.id(), "attribute " + name,
                     [&](hid_t mt, void* buf) { return H5Aread(a.id(), mt, buf); });
}

std::int64_t get_attr_int(hid_t obj, const std::string& name) {
  Attribute a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  std::int64_t v = 0;
  check(H5Aread(a.id(), H5T_NATIVE_INT64, &v), "read attribute " + name);
  return v;
}

std::uint64_t get_attr_uint(hid_t obj, const std::string& name) {
  Attribute a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  std::uint64_t v = 0;
  check(H5Aread(a.id(), H5T_NATIVE_UINT64, &v), "read attribute " + name);
  return v;
}

std::string read_scalar_string(hid_t loc, const std::string& name) {
  Dataset d = open_dataset(loc, name);
  Datatype ft = dataset_type(d.id());
  if (check(H5Tget_class(ft.id()), "H5Tget_class") != H5T_STRING)
    fail(name + " is not a string dataset");
  Dataspace space(check(H5Dget_space(d.id()), "H5Dget_space"));
  return read_string(ft.id(), space.id(), name, [&](hid_t mt, void* buf) {
    return H5Dread(d.id(), mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
}

void read_string_rows(hid_t dataset, hsize_t first, hsize_t count,
                      const std::function<void(std::size_t, std::string_view)>& take) {
  if (count == 0) return;
  Datatype ft = dataset_type(dataset);
  if (check(H5Tget_class(ft.id()), "H5Tget_class") != H5T_STRING)
    fail("a string column holds no strings");
  const auto [mem, file] = row_spaces(dataset, first, count);
  read_strings(
      ft.id(), mem.id(), count, "string rows",
      [&](hid_t mt, void* buf) {
        return H5Dread(dataset, mt, mem.id(), file.id(), H5P_DEFAULT, buf);
      },
      take);
}

void read_string_rows(hid_t dataset, hsize_t first, hsize_t count, std::size_t size, char* out) {
  read_string_rows(dataset, first, count, [&](std::size_t i, std::string_view text) {
    pack_string(text, out + i * size, size);
  });
}

bool extendible(hid_t dataset) {
  Dataspace space(check(H5Dget_space(dataset), "H5Dget_space"));
  hsize_t dims[H5S_MAX_RANK] = {}, maxdims[H5S_MAX_RANK] = {};
  const int rank =
      check(H5Sget_simple_extent_dims(space.id(), dims, maxdims), "H5Sget_simple_extent_dims");
  return rank == 1 && maxdims[0] == H5S_UNLIMITED;
}

std::size_t string_width(hid_t type) {
  if (check(H5Tis_variable_str(type), "H5Tis_variable_str") > 0) return 0;
  const std::size_t size = type_size(type);
  return H5Tget_strpad(type) == H5T_STR_NULLTERM ? size : size + 1;
}

bool is_our_string(hid_t type) {
  return H5Tget_class(type) == H5T_STRING &&
         check(H5Tis_variable_str(type), "H5Tis_variable_str") == 0 &&
         H5Tget_strpad(type) == H5T_STR_NULLTERM && H5Tget_cset(type) == H5T_CSET_UTF8;
}

void pack_string(std::string_view s, char* out, std::size_t size) {
  if (size == 0) return;
  std::size_t n = s.size();
  if (n >= size) {
    n = size - 1;  // room for the terminator
    // Do not cut a UTF-8 sequence in half: back off over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(out, s.data(), n);
  if (n < size) std::memset(out + n, 0, size - n);
}

std::string unpack_string(const char* in, std::size_t size) {
  const void* end = std::memchr(in, '\0', size);
  return std::string(in, end ? static_cast<const char*>(end) - in : size);
}

}  // namespace mpisweep::archive::h5
