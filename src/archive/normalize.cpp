// Rewriting string columns that another tool (h5py) replaced, before a resume writes to them
// (issue 11 item 9). HDF5 converts neither variable-length strings nor other character sets to
// the writer's fixed UTF-8 ("no appropriate function for conversion path"), and a dataset written
// with h5py's create_dataset(name, data=...) is contiguous, so it cannot grow: such a column is
// read whole (h5::read_string_rows takes every form) and written back in the writer's form.
#include "columns.hpp"

#include <algorithm>

namespace mpisweep::archive {

namespace {

bool foreign(hid_t file, const ColumnDef& c) {
  if (H5Tget_class(c.type.id()) != H5T_STRING) return false;
  h5::Dataset d = h5::open_dataset(file, c.path);
  h5::Datatype t = h5::dataset_type(d.id());
  return !h5::is_our_string(t.id()) || !h5::extendible(d.id());
}

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Moves dataset `path` to a new link of the same name, created last in its group: H5Ocopy to a
// temporary name, then the old link is deleted and the copy renamed. (Creation order is what a
// tracked group lists; a rename alone keeps it in some HDF5 versions.)
void relink_last(hid_t file, const std::string& path) {
  const std::string tmp = path + ".relinking";
  h5::check(H5Ocopy(file, path.c_str(), file, tmp.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            "copy " + path);
  h5::check(H5Ldelete(file, path.c_str(), H5P_DEFAULT), "delete " + path);
  h5::check(H5Lmove(file, tmp.c_str(), file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            "rename " + tmp);
}

// Rewrites string column `c` in the writer's form: at least `c`'s width, wider for a longer
// choice (hosts and errors are cut at their width, as the writer cuts them).
void rewrite(hid_t file, const ColumnDef& c, bool keep_longest) {
  std::vector<std::string> values;
  {
    h5::Dataset old = h5::open_dataset(file, c.path);
    values.resize(h5::extent(old.id()));
    h5::read_string_rows(old.id(), 0, values.size(),
                         [&](std::size_t i, std::string_view text) { values[i] = text; });
  }
  std::size_t width = c.elem_size();
  if (keep_longest)
    for (const auto& v : values) width = std::max(width, v.size() + 1);
  const std::string tmp = c.path + ".rewriting";
  {
    h5::Datatype type = h5::string_type(width);
    h5::Dataset d = h5::create_column(file, tmp, type.id(), fmt::task_chunk, nullptr);
    if (c.describe) c.describe(d.id());
    h5::set_extent(d.id(), values.size());
    const std::size_t block = block_rows(width);
    std::vector<char> buf(std::min(block, values.size()) * width);
    for (std::size_t first = 0; first < values.size(); first += block) {
      const std::size_t count = std::min(block, values.size() - first);
      for (std::size_t i = 0; i < count; ++i)
        h5::pack_string(values[first + i], buf.data() + i * width, width);
      h5::write_rows(d.id(), type.id(), first, count, buf.data());
    }
  }
  h5::check(H5Ldelete(file, c.path.c_str(), H5P_DEFAULT), "delete " + c.path);
  h5::check(H5Lmove(file, tmp.c_str(), file, c.path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
            "rename " + tmp);
}

}  // namespace

bool foreign_string_columns(hid_t file, const Layout& layout) {
  const RowStore store(layout, fmt::task_chunk);
  const auto table = task_columns(store);
  return std::any_of(table.begin(), table.end(),
                     [&](const ColumnDef& c) { return foreign(file, c); });
}

void normalize_string_columns(hid_t file, const Layout& layout) {
  const RowStore store(layout, fmt::task_chunk);
  bool relink = false;  // a parameter column before this one was recreated (so now it is last)
  for (const ColumnDef& c : task_columns(store)) {
    const bool param = parent_of(c.path) == "tasks/params";
    if (foreign(file, c)) {
      rewrite(file, c, param);
      relink = relink || param;
    } else if (param && relink) {
      relink_last(file, c.path);
    }
  }
}

}  // namespace mpisweep::archive
