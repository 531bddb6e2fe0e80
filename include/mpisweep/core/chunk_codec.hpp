#pragma once
// Worker-side encoding of a series into the chunks HDF5 stores, so that the master only copies
// bytes into the archive (H5Dwrite_chunk, HDF5 >= 1.10.2) and never compresses (issue 18).
//
// A series' /series/<name>/values dataset is 1-D and chunked with chunk_elements(); its filter
// pipeline is filters(), in that order. encode() turns an array that starts on a chunk boundary
// into exactly the bytes HDF5's own pipeline would store for those chunks:
//   1. float32 (optional): each double rounded to the nearest float, ties to even, as HDF5's
//      hard double->float conversion does: a C cast, except that anything beyond +-FLT_MAX
//      becomes +-inf (also what rounding would bring back to FLT_MAX); NaN stays NaN;
//   2. the array padded with zeros to a whole number of chunks;
//   3. per chunk, byte shuffle with the element size (HDF5 shuffle filter: byte j of element i
//      goes to position j * n + i), then zlib's compress2 at the level (HDF5's deflate filter
//      stores exactly compress2's zlib stream).
// Each chunk comes with its filter mask (bit k set: filter k of filters() skipped): a chunk that
// deflate does not shrink is stored raw, mask all ones, so random data costs readers nothing to
// decode. Core knows nothing of HDF5: filters are named by their registered ids.
//
// Bytes are little-endian, the archive's file types (IEEE F64LE, F32LE); we build only for
// little-endian hosts (static_assert in chunk_codec.cpp).
#include <mpisweep/core/schema.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mpisweep::chunk_codec {

// Registered HDF5 filter ids (H5Zpublic.h: H5Z_FILTER_DEFLATE, H5Z_FILTER_SHUFFLE).
inline constexpr int filter_deflate = 1;
inline constexpr int filter_shuffle = 2;

// One step of a series dataset's filter pipeline. Every step is declared optional
// (H5Z_FLAG_OPTIONAL) so that HDF5 itself may also skip it where it does not pay; `level` is
// deflate's only parameter (0 for shuffle, whose element size HDF5 fills in at creation).
struct Filter {
  int id = 0;
  unsigned level = 0;
};

// The pipeline of a series stored as `storage` says:
//   none            {deflate}: chunks are stored raw (mask 1) but an array's last chunk when it
//                   is at least 3/4 zero padding, which deflates to almost nothing
//   deflate         {deflate}
//   shuffle_deflate {shuffle, deflate}
std::vector<Filter> filters(const SeriesStorage& storage);

// Bytes per stored element: 4 for float32, else 8.
std::size_t element_size(const SeriesStorage& storage);

// Largest chunk: 1 MiB of stored bytes. HDF5's default chunk cache is 1 MiB per dataset, so a
// reader picking one task's array out of a bigger chunk would decompress it again for every
// task, and deflate's 32 KiB window gains nothing from bigger chunks.
inline constexpr std::size_t max_chunk_bytes = std::size_t{1} << 20;
// Smallest chunk: 64 KiB. Each chunk costs one H5Dwrite_chunk call, one index entry and one zlib
// header; at 64 KiB those are < 2% of the time to write the chunk at disk speed.
inline constexpr std::size_t min_chunk_bytes = std::size_t{64} << 10;

// Elements per chunk of a series' values dataset: spec.chunk once an archive fixed it, else the
// rule below. It is fixed when the archive is created (HDF5 cannot change a dataset's chunk, nor
// create datasets once SWMR writing has begun), so it follows the length the archive can know
// then: a field's declared shape, else `expected_length` (the sweep's smallest value of the
// series' length_param), else nothing (0).
//   unit = product(shape) | expected_length | 0
//   unit = 0              -> min chunk (a curve of unknown length)
//   unit <= min chunk     -> the multiple of unit nearest to and at most the min chunk (at least
//                            one unit), so tasks' arrays packed back to back never straddle a
//                            chunk and one task's array is read from one chunk
//   unit <= max chunk     -> unit: one chunk per task's array
//   unit > max chunk      -> whole trailing rows of a field (product(shape[1:])) as many as fit
//                            the max chunk, else the max chunk
// Every array starts on a chunk boundary, so each task's last chunk is padded; the bigger unit
// never exceeds the max chunk and the smaller stays one chunk, which bounds the padding.
std::int64_t chunk_elements(const SeriesSpec& spec, std::int64_t expected_length = 0);

// The encoded chunks of one array, in one buffer (what a worker sends to the master). The
// encoder fills `bytes`; the master instead points `view` into the received message and keeps
// that message alive through `owner`, so the chunks are not copied out of it (issue 18).
struct Encoded {
  std::int64_t chunk_elements = 0;
  std::int64_t length = 0;           // values encoded; the last chunk is padded with zeros
  std::vector<std::uint32_t> masks;  // per chunk: filters skipped
  std::vector<std::uint64_t> ends;   // per chunk: end of its bytes in data()
  std::vector<unsigned char> bytes;
  std::shared_ptr<const void> owner;  // set: the chunks are `view`, inside what it owns
  std::span<const unsigned char> view;

  std::span<const unsigned char> data() const {
    return owner ? view : std::span<const unsigned char>(bytes);
  }
  std::size_t chunks() const { return masks.size(); }
  std::span<const unsigned char> chunk(std::size_t i) const;
  // Bytes the array takes stored: what ingestion rates and ratios are measured against.
  std::uint64_t stored_bytes() const { return ends.empty() ? 0 : ends.back(); }
  // Same chunks, wherever their bytes live.
  bool operator==(const Encoded& o) const {
    const auto a = data(), b = o.data();
    return chunk_elements == o.chunk_elements && length == o.length && masks == o.masks &&
           ends == o.ends && std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
};

// Fast for random data, compact for smooth data: with min_ratio > 1, an array's chunks are
// deflated only if a probe (its first probe_elements values, at most an eighth of a chunk,
// filtered the same way) shrinks by at least that ratio; otherwise every chunk is stored raw
// without deflating anything. The verdict is taken once per array (one series of one task), a
// function of its values only: probing every chunk cost a deflate of an eighth of all bytes of
// random data, a third of a sweep's CPU, to store them raw. Uniform random doubles gain 1.18
// from shuffle + deflate at ~1/25 of the raw rate, a smooth curve 1.42, a repetitive field over
// 100 (docs/performance.md, "Series ingestion"). A last chunk that is at least 3/4 padding is
// always deflated (the zeros shrink to nothing, at memory speed); a fuller one follows the
// verdict. A deflated chunk is kept only if it shrinks. min_ratio <= 1: every chunk is deflated
// (`none`: only the mostly-padding last chunk).
inline constexpr std::size_t probe_elements = 2048;
// The default proposed from those measurements: keep deflate where it saves at least 20%.
inline constexpr double default_min_ratio = 1.25;

// Encodes `values` as chunks [0, ceil(n / chunk_elements)) of an array that starts on a chunk
// boundary; the caller writes chunk i at element offset start + i * chunk_elements. Throws
// internal_error for chunk_elements < 1 or a deflate level outside 1..9 (the sweep file's
// declaration is checked where it is parsed). Thread-safe.
Encoded encode(std::span<const double> values, const SeriesStorage& storage,
               std::int64_t chunk_elements, double min_ratio = 1.0);

// Chunks of an array of `length` values: ceil(length / chunk_elements).
std::size_t chunk_count(std::int64_t length, std::int64_t chunk_elements);
// The most bytes encode() can produce for `length` values: every chunk raw (a deflated chunk is
// kept only when smaller), so a buffer of this size is never reallocated while encoding.
std::size_t max_encoded_bytes(std::int64_t length, const SeriesStorage& storage,
                              std::int64_t chunk_elements);

// encode(), appending the chunks' bytes to `out` (a worker's result message, so that the chunks
// are not copied again into it) and setting masks and ends (relative to out's size on entry).
void encode_append(std::span<const double> values, const SeriesStorage& storage,
                   std::int64_t chunk_elements, double min_ratio, std::string& out,
                   std::vector<std::uint32_t>& masks, std::vector<std::uint64_t>& ends);

// What a worker sends for one declared series of at least one chunk: encode() with the series'
// storage, in chunks of chunk_elements(spec) (the archive's /series/<name>/values chunk),
// probing with default_min_ratio where the storage deflates. Shorter arrays travel as values and
// the archive packs them back to back (a chunk each would cost more than their bytes).
Encoded encode_series(std::span<const double> values, const SeriesSpec& spec);

}  // namespace mpisweep::chunk_codec
