#pragma once
// [sweep] series_files = "per_rank" (issue 18, "Beyond one writer"): each worker rank writes the
// series of its tasks into block files beside the archive, and rank 0 receives only where they
// went, so series bytes never cross rank 0's link or disk.
//
// Files: <archive>.series/block-<k>.h5, k = 0, 1, ..., each with /series/<name>/values for every
// declared series (same type, chunks and filters as the archive would use). The archive's
// /series/<name>/values is a virtual dataset with one printf-style mapping: elements
// [k * R, (k + 1) * R) are the first R values of block file k (R: the block size, fixed when the
// archive is made). So a task's offset is k * R + its place in file k, and every reader
// (h5py, h5dump, the Reader, the Python package) reads values[offset : offset + length] as in
// the default mode. HDF5 1.10 looks for mapped files k = 0, 1, ... and stops at the first one
// missing: file k exists only once every file below k does (placeholders with empty datasets
// fill the gaps), and a block index is never given to two writers.
//
// Block indices: the master gives a run its first free index B (SweepConfig::first_block);
// worker rank w of W takes B + (w - 1), then B + (w - 1) + W, ... when one fills up. Files are
// written under SWMR (one writer each), flushed before the result that points into them leaves
// the worker, so a done row's values are on disk before the row is.
#include <mpisweep/core/schema.hpp>
#include <mpisweep/core/task.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mpisweep::archive::series_files {

// Elements of the virtual values each block file provides: 2^24 (128 MiB of float64). It is also
// the most values one task's array of one series may have in this mode, and how far a reader's
// values.shape grows per block file (the extent is whole blocks, the gaps read as 0): readers
// take values[offset : offset + length], never values[:]. 2^24 holds the biggest field the
// experiments store (a kinetic_closure Psi of 1.8M values) nine times over, while a 2-rank run
// shows a shape of 2^25, not the 2^41 of a "never full" block (docs/archive.md).
inline constexpr std::int64_t default_block_elements = std::int64_t{1} << 24;
// The block size of an archive made now: the default, or MPISWEEP_TEST_SERIES_BLOCK (tests only,
// read here and nowhere else: a small block lets a test fill blocks and roll over cheaply).
// Existing archives keep theirs: the mapping records it (Writer::series_block_elements).
std::int64_t block_elements_for_new_archive();

// The folder of the block files of the archive at `archive_path` (its name + ".series"), and the
// same relative to the archive's folder, as the virtual datasets name it.
std::string folder_of(const std::string& archive_path);
std::string folder_name_of(const std::string& archive_path);
std::string block_path(const std::string& folder, std::int64_t block);

// The master, before a run, with no block writer alive: creates the folder if missing, clears
// the flags a killed writer left on its block files (so plain HDF5 opens work again), fills
// every gap below the highest block index with an empty placeholder, and returns the first free
// block index.
std::int64_t prepare(const std::string& folder, const std::vector<SeriesSpec>& series);

// The values a block file holds, per series (its values' extents), or nothing when the file is
// missing or unreadable: what resume checks a done row against.
std::vector<std::int64_t> stored_lengths(const std::string& folder, std::int64_t block,
                                         const std::vector<SeriesSpec>& series);

// One worker rank's writer. Not thread-safe; used from the runner thread only.
class BlockWriter {
 public:
  // `first` is this rank's first block index, `stride` the number of worker ranks,
  // `block_elements` the archive's block size.
  BlockWriter(std::string folder, std::vector<SeriesSpec> series, std::int64_t first,
              std::int64_t stride, std::int64_t block_elements);
  BlockWriter(BlockWriter&&) noexcept;
  BlockWriter& operator=(BlockWriter&&) noexcept;
  ~BlockWriter();  // closes the current file; never throws

  // Writes a done outcome's series into the current block file (encoded as the archive would
  // store them: the worker's chunks, or `series` encoded here) and replaces them by
  // Outcome::placed. Returns why the task's series cannot be stored (an array longer than a
  // block), writing nothing; empty on success. Throws when a write fails (disk full). A reader
  // (and a resume after kill -9) sees the values only after flush().
  std::string place(Outcome& outcome);
  // Makes everything placed so far readable (H5Fflush: the chunk index and extent); a no-op when
  // nothing was placed since. Throws when a write fails. Safe to call from another thread than
  // place()'s: the worker places on its runner thread and flushes on its main thread, once for
  // all the results it is about to send (a flush per 100 KB result was a tenth of the CPU).
  void flush();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpisweep::archive::series_files
