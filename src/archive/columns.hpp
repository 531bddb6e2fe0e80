#pragma once
// The table of /tasks-aligned columns: one definition per dataset (path, type, fill value, flush
// phase, which kind of change dirties it, how rows go from the RowStore into a buffer and back),
// so creating, validating, loading, attaching and flushing loop over one list instead of naming
// the columns each time. /runs has its own table (fmt::run_columns).
#include "format.hpp"
#include "row_store.hpp"

#include <functional>
#include <string>
#include <vector>

namespace mpisweep::archive {

struct ColumnDef {
  std::string path;                 // from the file root, e.g. "tasks/metrics/loss"
  h5::Datatype type;                // file and memory type (native numbers or fixed strings)
  std::vector<unsigned char> fill;  // the fill value in `type`; empty: HDF5's zero fill
  bool phase2 = false;          // written in the second flush phase (id and status; see writer.cpp)
  int dirty = Dirty::recorded;  // the kind of change that makes a chunk of it dirty
  // Added after format version 1 was released: archives written before lack it, and are read
  // and resumed without it (file_columns).
  bool optional = false;
  // The chunks' filters, chosen per column by measurement (docs/performance.md, "2-core, this
  // session"; bench/column_filters): deflate costs the master time at every flush, so only
  // columns it shrinks well get it. Fixed at creation: an archive keeps the filters it was made
  // with, and resume never checks them.
  h5::Filter filter = h5::Filter::shuffle_deflate;
  // Rows [first, first+count) of the store into `out` (count elements of `type`), and back.
  std::function<void(const RowStore&, std::size_t first, std::size_t count, unsigned char* out)>
      gather;
  std::function<void(RowStore&, std::size_t first, std::size_t count, const unsigned char* in)>
      scatter;
  // Sets the dataset's attributes when it is created (description, unit, ...).
  std::function<void(hid_t dataset)> describe;
  std::size_t elem_size() const { return h5::type_size(type.id()); }
};

// Every /tasks-aligned column of `store`'s layout, in a fixed order: the task columns, then
// /tasks/params/*, /tasks/metrics/*, then each series' offset and length. Choice columns take
// their width from the store (ParamRows::str_size).
std::vector<ColumnDef> task_columns(const RowStore& store);

// task_columns(store) without the optional columns `file` lacks: what a writer or reader of that
// file reads and writes.
std::vector<ColumnDef> file_columns(hid_t file, const RowStore& store);

// Rows per read or write of one column of `elem_size`-byte elements: whole chunks, at most about
// 4 MiB of scratch.
std::size_t block_rows(std::size_t elem_size);

// Gives each choice column of `store` the width of its dataset in `file`, so rows read from it fit
// (a compacted, older or hand-rewritten file may differ from the layout's choices).
void take_file_widths(hid_t file, RowStore& store);

// Reads rows [0, n) of column `c` from `dataset` into `store` (which holds at least n rows), in
// blocks through `scratch`; string columns in any form HDF5 allows (h5::read_string_rows).
void read_column(hid_t dataset, const ColumnDef& c, RowStore& store, std::size_t n,
                 std::vector<unsigned char>& scratch);

// What an existing archive holds columns for, from the file alone (the reader's layout):
// parameter names, types and choices, metric and series names, in the file's order.
Layout layout_of(hid_t file, const std::string& path);

// Whether a string column of `file` is not in the writer's form (fixed length, null-terminated
// UTF-8, extendible), as when h5py rewrote it: readers take every form, the writer only its own.
bool foreign_string_columns(hid_t file, const Layout& layout);

// Rewrites those columns of `file` (open read-write, not SWMR: it creates datasets) into the
// writer's form with every value kept, as wide as the layout needs or the longest choice; the
// parameter columns after a rewritten one are re-linked in order, so /tasks/params keeps the
// sweep's order. normalize.cpp.
void normalize_string_columns(hid_t file, const Layout& layout);

// /series/<name>/values of `spec` in `group`: 1-D, unlimited, chunks of
// chunk_codec::chunk_elements(spec), stored as IEEE float64 (float32 where the storage says), with
// chunk_codec::filters(spec.storage), every filter optional: the chunks workers encode go in with
// H5Dwrite_chunk as they are, and every reader (h5py, h5dump, the Reader) decodes them itself.
h5::Dataset create_series_values(hid_t group, const SeriesSpec& spec);

// series_files = "per_rank" (series_files.hpp): values as a virtual dataset over the block files
// in `folder_name` (relative to the archive's folder). series_files.cpp.
h5::Dataset create_series_virtual(hid_t group, const SeriesSpec& spec,
                                  const std::string& folder_name);
// The folder a virtual values dataset maps its block files from; empty for a stored one.
std::string series_folder_name(hid_t dataset);
// The block size of a virtual values dataset (its mapping's hyperslab block).
std::int64_t series_block_elements(hid_t dataset);
// Whether an existing archive's values is virtual; input_error naming `path` when that is not
// what `layout` asks for (series_files set or not).
bool check_series_mode(hid_t dataset, const SeriesSpec& spec, const std::string& path,
                       const Layout& layout);

// Throws input_error(path, ...) when an existing archive stores the series' values otherwise
// (type, chunk size or filters): its chunks could not take what the workers encode. Returns the
// dataset's chunk: for a curve (no shape) any chunk will do, and the resumed sweep adopts it.
std::int64_t check_series_values(hid_t dataset, const SeriesSpec& spec, const std::string& path);

// Writes `e`'s chunks with H5Dwrite_chunk, its first at element `offset` (a chunk boundary);
// the dataset's extent must already cover them.
void write_series_chunks(hid_t dataset, std::int64_t offset, const chunk_codec::Encoded& e);

// Copies the chunks holding elements [0, n) of `from` into `to` as they are stored
// (H5Dread_chunk, H5Dwrite_chunk: nothing is decoded); chunks never written stay unwritten.
void copy_series_chunks(hid_t from, hid_t to, hsize_t n, std::int64_t chunk);

}  // namespace mpisweep::archive
