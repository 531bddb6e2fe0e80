#include "columns.hpp"

#include <mpisweep/core/text.hpp>

#include <algorithm>

#include <cstring>
#include <limits>
#include <type_traits>
#include <variant>

namespace mpisweep::archive {

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

template <class T>
std::vector<unsigned char> fill_of(T value) {
  std::vector<unsigned char> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

// A column that is a plain vector of the store, picked by `select`.
template <class T, class Select>
ColumnDef plain(std::string path, hid_t native, Select select, int dirty) {
  ColumnDef c;
  c.path = std::move(path);
  c.type = h5::copy_type(native);
  c.dirty = dirty;
  c.filter = sizeof(T) > 1 ? h5::Filter::shuffle_deflate : h5::Filter::deflate;
  c.gather = [select](const RowStore& s, std::size_t first, std::size_t count, unsigned char* out) {
    std::memcpy(out, select(s).data() + first, count * sizeof(T));
  };
  c.scatter = [select](RowStore& s, std::size_t first, std::size_t count, const unsigned char* in) {
    std::memcpy(select(s).data() + first, in, count * sizeof(T));
  };
  return c;
}

// A column that is one field of RowStore::rows.
template <class T, class Get, class Set>
ColumnDef row_field(std::string path, hid_t native, Get get, Set set, int dirty) {
  ColumnDef c;
  c.path = std::move(path);
  c.type = h5::copy_type(native);
  c.dirty = dirty;
  c.filter = sizeof(T) > 1 ? h5::Filter::shuffle_deflate : h5::Filter::deflate;
  c.gather = [get](const RowStore& s, std::size_t first, std::size_t count, unsigned char* out) {
    auto* o = reinterpret_cast<T*>(out);
    for (std::size_t i = 0; i < count; ++i) o[i] = get(s.rows[first + i]);
  };
  c.scatter = [set](RowStore& s, std::size_t first, std::size_t count, const unsigned char* in) {
    const auto* v = reinterpret_cast<const T*>(in);
    for (std::size_t i = 0; i < count; ++i) set(s.rows[first + i], v[i]);
  };
  return c;
}

// A fixed-string column whose rows are interned strings or sparse entries.
ColumnDef text(std::string path, std::size_t size, int dirty,
               std::function<std::string_view(const RowStore&, std::size_t)> get,
               std::function<void(RowStore&, std::size_t, std::string)> set) {
  ColumnDef c;
  c.path = std::move(path);
  c.type = h5::string_type(size);
  c.dirty = dirty;
  c.filter = h5::Filter::deflate;  // mostly zero padding: shrinks 60-200x
  c.gather = [size, get](const RowStore& s, std::size_t first, std::size_t count,
                         unsigned char* out) {
    for (std::size_t i = 0; i < count; ++i)
      h5::pack_string(get(s, first + i), reinterpret_cast<char*>(out) + i * size, size);
  };
  c.scatter = [size, set](RowStore& s, std::size_t first, std::size_t count,
                          const unsigned char* in) {
    for (std::size_t i = 0; i < count; ++i)
      set(s, first + i, h5::unpack_string(reinterpret_cast<const char*>(in) + i * size, size));
  };
  return c;
}

// The HDF5 native type of a column element.
template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, std::int8_t>) return H5T_NATIVE_INT8;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
}

void describe(hid_t d, const std::string& unit, const std::string& help) {
  h5::set_attr(d, "unit", unit);
  h5::set_attr(d, "description", help);
}

std::function<void(hid_t)> description(std::string text) {
  return [text = std::move(text)](hid_t d) { h5::set_attr(d, "description", text); };
}

ColumnDef param_column(const RowStore& store, std::size_t k) {
  const ParamSpec& p = store.layout().params[k];
  const std::string path = "tasks/params/" + p.name;
  ColumnDef c = std::visit(
      [&](const auto& data) {
        using T = typename std::decay_t<decltype(data)>::value_type;
        if constexpr (std::is_same_v<T, std::uint32_t>) {
          return text(
              path, store.params[k].str_size, Dirty::added,
              [k](const RowStore& s, std::size_t r) -> std::string_view {
                const auto& col = s.params[k];
                return col.table.strings[std::get<std::vector<std::uint32_t>>(col.data)[r]];
              },
              [k](RowStore& s, std::size_t r, std::string v) {
                auto& col = s.params[k];
                std::get<std::vector<std::uint32_t>>(col.data)[r] = col.table.intern(v);
              });
        } else {
          ColumnDef n = plain<T>(
              path, native_type<T>(),
              [k](auto& s) -> auto& { return std::get<std::vector<T>>(s.params[k].data); },
              Dirty::added);
          if constexpr (std::is_same_v<T, std::int8_t>) n.type = h5::bool_type();
          return n;
        }
      },
      store.params[k].data);
  c.describe = [p](hid_t d) {
    describe(d, p.unit, p.help);
    h5::set_attr(d, "type", std::string(to_string(p.type)));
    if (p.type == ParamType::choice) h5::set_attr(d, "choices", join(p.choices));
  };
  return c;
}

}  // namespace

std::vector<ColumnDef> task_columns(const RowStore& store) {
  std::vector<ColumnDef> out;
  out.push_back(row_field<std::uint64_t>(
      "tasks/id", H5T_NATIVE_UINT64, [](const RowState& r) { return r.id; },
      [](RowState& r, std::uint64_t v) { r.id = v; }, Dirty::added));
  out.back().phase2 = true;
  out.back().filter = h5::Filter::none;  // a hash: deflate gains nothing (ratio 1.00)
  out.back().describe = description("task id: hash of experiment, parameters and seed");
  out.push_back(plain<std::uint64_t>(
      "tasks/seed", H5T_NATIVE_UINT64, [](auto& s) -> auto& { return s.seeds; }, Dirty::added));
  out.back().describe = description("seed of the task");
  out.push_back(row_field<std::int8_t>(
      "tasks/status", H5T_NATIVE_INT8,
      [](const RowState& r) { return static_cast<std::int8_t>(r.status); },
      [](RowState& r, std::int8_t v) { r.status = static_cast<TaskStatus>(v); }, Dirty::recorded));
  out.back().type = h5::status_type();
  out.back().fill = fill_of(std::int8_t{0});
  out.back().phase2 = true;
  out.back().describe = description("pending, done, failed or timeout");
  out.push_back(row_field<std::int32_t>(
      "tasks/attempts", H5T_NATIVE_INT32, [](const RowState& r) { return r.attempts; },
      [](RowState& r, std::int32_t v) { r.attempts = v; }, Dirty::recorded));
  out.back().describe = description("attempts made so far");
  out.push_back(plain<std::int32_t>(
      "tasks/worker", H5T_NATIVE_INT32, [](auto& s) -> auto& { return s.workers; },
      Dirty::recorded));
  out.back().fill = fill_of(std::int32_t{-1});
  out.back().describe = description("MPI rank of the last attempt (-1: none)");
  out.push_back(text(
      "tasks/host", fmt::host_size, Dirty::recorded,
      [](const RowStore& s, std::size_t r) -> std::string_view {
        return s.hosts.strings[s.host_index[r]];
      },
      [](RowStore& s, std::size_t r, std::string v) { s.host_index[r] = s.hosts.intern(v); }));
  out.back().describe = description("host of the last attempt");
  out.push_back(plain<double>(
      "tasks/started", H5T_NATIVE_DOUBLE, [](auto& s) -> auto& { return s.started; },
      Dirty::recorded));
  out.back().fill = fill_of(nan_value);
  out.back().describe = description("unix time the last attempt started");
  out.push_back(plain<double>(
      "tasks/wall_seconds", H5T_NATIVE_DOUBLE, [](auto& s) -> auto& { return s.wall; },
      Dirty::recorded));
  out.back().fill = fill_of(nan_value);
  // Measured wall times are noise in their low bytes: 1.00-1.14 with either filter.
  out.back().filter = h5::Filter::none;
  out.back().describe = description("wall time of the last attempt");
  {
    ColumnDef c = text(
        "tasks/error", fmt::error_size, Dirty::errored,
        [](const RowStore& s, std::size_t r) -> std::string_view {
          auto it = s.errors.find(r);
          return it == s.errors.end() ? std::string_view() : std::string_view(it->second);
        },
        [](RowStore& s, std::size_t r, std::string v) {
          // Erased when empty: a reader re-reads the column after a retry cleared the error.
          if (!v.empty())
            s.errors.insert_or_assign(r, std::move(v));
          else if (!s.errors.empty())
            s.errors.erase(r);
        });
    // Few rows fail: when the map is smaller than the block, scan it instead of a lookup a row.
    c.gather = [](const RowStore& s, std::size_t first, std::size_t count, unsigned char* buf) {
      constexpr std::size_t size = fmt::error_size;
      std::memset(buf, 0, count * size);
      if (s.errors.size() < count) {
        for (const auto& [row, msg] : s.errors)
          if (row >= first && row < first + count)
            h5::pack_string(msg, reinterpret_cast<char*>(buf) + (row - first) * size, size);
      } else {
        for (std::size_t i = 0; i < count; ++i)
          if (auto it = s.errors.find(first + i); it != s.errors.end())
            h5::pack_string(it->second, reinterpret_cast<char*>(buf) + i * size, size);
      }
    };
    c.describe = description("error of the last attempt (truncated), empty when done");
    out.push_back(std::move(c));
  }
  // Written on flush while a task runs, so `status` can show it; NaN when not running.
  out.push_back(plain<float>(
      "tasks/progress", H5T_NATIVE_FLOAT, [](auto& s) -> auto& { return s.progress; },
      Dirty::progressed));
  out.back().fill = fill_of(std::numeric_limits<float>::quiet_NaN());
  out.back().optional = true;
  out.back().describe = description(
      "running task's own estimate of how far it is, 0 to 1 (NaN: not running or no estimate)");
  for (std::size_t k = 0; k < store.params.size(); ++k) out.push_back(param_column(store, k));
  for (std::size_t k = 0; k < store.metrics.size(); ++k) {
    const MetricSpec& m = store.layout().metrics[k];
    out.push_back(plain<double>(
        "tasks/metrics/" + m.name,
        H5T_NATIVE_DOUBLE, [k](auto& s) -> auto& { return s.metrics[k]; }, Dirty::recorded));
    out.back().fill = fill_of(nan_value);
    // Most metrics (losses, errors, timings) are random in their low bytes and deflate to
    // 1.0-1.4 of their size; counts that would shrink cost only 8 bytes a row unfiltered.
    out.back().filter = h5::Filter::none;
    out.back().describe = [m](hid_t d) {
      describe(d, m.unit, m.help);
      h5::set_attr(d, "timing", std::int64_t{m.timing ? 1 : 0});
    };
  }
  for (std::size_t k = 0; k < store.series.size(); ++k) {
    const std::string g = "series/" + store.layout().series[k].name + "/";
    out.push_back(plain<std::int64_t>(
        g + "offset", H5T_NATIVE_INT64, [k](auto& s) -> auto& { return s.series[k].offset; },
        Dirty::recorded));
    out.back().describe = description("first index into values of each task row");
    out.push_back(plain<std::int64_t>(
        g + "length", H5T_NATIVE_INT64, [k](auto& s) -> auto& { return s.series[k].length; },
        Dirty::recorded));
    out.back().describe = description("number of values of each task row (0: absent)");
  }
  return out;
}

std::vector<ColumnDef> file_columns(hid_t file, const RowStore& store) {
  std::vector<ColumnDef> out = task_columns(store);
  std::erase_if(out, [&](const ColumnDef& c) { return c.optional && !h5::exists(file, c.path); });
  return out;
}

std::size_t block_rows(std::size_t elem_size) {
  return fmt::task_chunk *
         std::max<std::size_t>(1, (std::size_t{4} << 20) / (fmt::task_chunk * elem_size));
}

void take_file_widths(hid_t file, RowStore& store) {
  // Variable-length columns have no width: room for any choice an archive could hold.
  constexpr std::size_t unbounded = 1024;
  for (std::size_t k = 0; k < store.params.size(); ++k)
    if (store.params[k].type() == ParamType::choice) {
      h5::Dataset d = h5::open_dataset(file, "tasks/params/" + store.layout().params[k].name);
      h5::Datatype t = h5::dataset_type(d.id());
      const std::size_t width = h5::string_width(t.id());
      store.params[k].str_size = width == 0 ? unbounded : width;
    }
}

void read_column(hid_t dataset, const ColumnDef& c, RowStore& store, std::size_t n,
                 std::vector<unsigned char>& scratch) {
  const bool text = H5Tget_class(c.type.id()) == H5T_STRING;
  const std::size_t elem = c.elem_size(), block = block_rows(elem);
  scratch.resize(std::min(block, n) * elem);
  for (std::size_t first = 0; first < n; first += block) {
    const std::size_t count = std::min(block, n - first);
    if (text)
      h5::read_string_rows(dataset, first, count, elem, reinterpret_cast<char*>(scratch.data()));
    else
      h5::read_rows(dataset, c.type.id(), first, count, scratch.data());
    c.scatter(store, first, count, scratch.data());
  }
}

Layout layout_of(hid_t file, const std::string& path) {
  Layout l;
  {
    h5::Group g = h5::open_group(file, "tasks/params");
    for (const auto& name : h5::children(g.id())) {
      h5::Dataset d = h5::open_dataset(g.id(), name);
      h5::Datatype t = h5::dataset_type(d.id());
      ParamSpec p{.name = name, .type = fmt::param_type_of(t.id(), path, name)};
      if (p.type == ParamType::choice) p.choices = split(h5::get_attr_string(d.id(), "choices"));
      l.params.push_back(std::move(p));
    }
  }
  for (const auto& name : h5::children(h5::open_group(file, "tasks/metrics").id()))
    l.metrics.push_back(MetricSpec{.name = name});
  for (const auto& name : h5::children(h5::open_group(file, "series").id()))
    l.series.push_back(SeriesSpec{.name = name});
  return l;
}

}  // namespace mpisweep::archive

namespace mpisweep::archive {

namespace {

// The stored type of a series' values: little-endian like every number in the archive.
hid_t series_file_type(const SeriesSpec& spec) {
  return spec.storage.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
}

std::string storage_text(const SeriesStorage& st) {
  using C = SeriesStorage::Compression;
  std::string out = st.float32 ? "float32, " : "float64, ";
  switch (st.compression) {
    case C::none: return out + "no compression";
    case C::deflate: return out + "deflate " + std::to_string(st.level);
    case C::shuffle_deflate: return out + "shuffle + deflate " + std::to_string(st.level);
  }
  return out;
}

}  // namespace

h5::Dataset create_series_values(hid_t group, const SeriesSpec& spec) {
  hsize_t dims = 0, maxdims = H5S_UNLIMITED;
  const auto chunk = static_cast<hsize_t>(chunk_codec::chunk_elements(spec));
  h5::Dataspace space(h5::check(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple"));
  h5::PropList dcpl(h5::check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)"));
  h5::check(H5Pset_chunk(dcpl.id(), 1, &chunk), "H5Pset_chunk");
  for (const auto& f : chunk_codec::filters(spec.storage)) {
    const unsigned level = f.level;
    h5::check(H5Pset_filter(dcpl.id(), static_cast<H5Z_filter_t>(f.id), H5Z_FLAG_OPTIONAL,
                            f.id == chunk_codec::filter_deflate ? 1 : 0, &level),
              "H5Pset_filter");
  }
  return h5::Dataset(h5::check(H5Dcreate2(group, "values", series_file_type(spec), space.id(),
                                          H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                               "create dataset series/" + spec.name + "/values"));
}

std::int64_t check_series_values(hid_t dataset, const SeriesSpec& spec, const std::string& path) {
  h5::PropList dcpl(h5::check(H5Dget_create_plist(dataset), "H5Dget_create_plist"));
  h5::Datatype type = h5::dataset_type(dataset);
  bool same = h5::type_size(type.id()) == chunk_codec::element_size(spec.storage) &&
              H5Tget_class(type.id()) == H5T_FLOAT;
  hsize_t chunk = 0;
  same = same && H5Pget_layout(dcpl.id()) == H5D_CHUNKED &&
         H5Pget_chunk(dcpl.id(), 1, &chunk) == 1 && chunk > 0 &&
         (spec.shape.empty() || chunk == static_cast<hsize_t>(chunk_codec::chunk_elements(spec)));
  const auto want = chunk_codec::filters(spec.storage);
  same = same && H5Pget_nfilters(dcpl.id()) == static_cast<int>(want.size());
  for (std::size_t i = 0; same && i < want.size(); ++i) {
    unsigned flags = 0, cd[4] = {};
    std::size_t ncd = 4;
    const H5Z_filter_t id =
        H5Pget_filter2(dcpl.id(), static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, nullptr);
    same = id == want[i].id &&
           (id != chunk_codec::filter_deflate || (ncd >= 1 && cd[0] == want[i].level));
  }
  H5Eclear2(H5E_DEFAULT);
  if (!same)
    throw input_error(path, "/series/" + spec.name +
                                "/values is stored otherwise than the sweep declares (" +
                                storage_text(spec.storage) + ", chunks of " +
                                std::to_string(chunk_codec::chunk_elements(spec)) +
                                " values): written by an older mpisweep or another storage "
                                "declaration; use a new --archive");
  return static_cast<std::int64_t>(chunk);
}

void write_series_chunks(hid_t dataset, std::int64_t offset, const chunk_codec::Encoded& e) {
  for (std::size_t i = 0; i < e.chunks(); ++i) {
    const auto at = static_cast<hsize_t>(offset + static_cast<std::int64_t>(i) * e.chunk_elements);
    const auto bytes = e.chunk(i);
    h5::check(H5Dwrite_chunk(dataset, H5P_DEFAULT, e.masks[i], &at, bytes.size(), bytes.data()),
              "H5Dwrite_chunk");
  }
}

void copy_series_chunks(hid_t from, hid_t to, hsize_t n, std::int64_t chunk) {
  std::vector<unsigned char> buf;
  for (hsize_t at = 0; at < n; at += static_cast<hsize_t>(chunk)) {
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    h5::check(H5Dget_chunk_info_by_coord(from, &at, &mask, &addr, &size),
              "H5Dget_chunk_info_by_coord");
    if (addr == HADDR_UNDEF || size == 0) continue;  // never written (a killed run's gap)
    buf.resize(size);
    std::uint32_t filters = 0;
    h5::check(H5Dread_chunk(from, H5P_DEFAULT, &at, &filters, buf.data()), "H5Dread_chunk");
    h5::check(H5Dwrite_chunk(to, H5P_DEFAULT, filters, &at, size, buf.data()), "H5Dwrite_chunk");
  }
}

}  // namespace mpisweep::archive
