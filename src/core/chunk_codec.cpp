#include <mpisweep/core/chunk_codec.hpp>

#include <mpisweep/core/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace mpisweep::chunk_codec {

static_assert(std::endian::native == std::endian::little,
              "chunk_codec writes the archive's little-endian file types byte for byte");
static_assert(sizeof(float) == 4 && sizeof(double) == 8);

std::vector<Filter> filters(const SeriesStorage& storage) {
  using C = SeriesStorage::Compression;
  const auto level = static_cast<unsigned>(storage.level);
  switch (storage.compression) {
    case C::none: return {{filter_deflate, 1}};
    case C::deflate: return {{filter_deflate, level}};
    case C::shuffle_deflate: return {{filter_shuffle, 0}, {filter_deflate, level}};
  }
  throw internal_error("chunk_codec: unknown compression");
}

std::size_t element_size(const SeriesStorage& storage) { return storage.float32 ? 4 : 8; }

std::int64_t chunk_elements(const SeriesSpec& spec, std::int64_t expected_length) {
  if (spec.chunk > 0) return spec.chunk;
  const auto e = static_cast<std::int64_t>(element_size(spec.storage));
  const std::int64_t min_c = static_cast<std::int64_t>(min_chunk_bytes) / e;
  const std::int64_t max_c = static_cast<std::int64_t>(max_chunk_bytes) / e;
  std::int64_t unit = expected_length > 0 ? expected_length : 0;
  std::int64_t row = 1;
  if (!spec.shape.empty()) {
    unit = 1;
    for (auto d : spec.shape) unit *= std::max<std::int64_t>(d, 1);
    row = unit / std::max<std::int64_t>(spec.shape.front(), 1);
  }
  if (unit == 0) return min_c;
  if (unit <= min_c) return unit * std::max<std::int64_t>(1, min_c / unit);
  if (unit <= max_c) return unit;
  return row <= max_c ? (max_c / row) * row : max_c;
}

Encoded encode_series(std::span<const double> values, const SeriesSpec& spec) {
  const bool deflates = spec.storage.compression != SeriesStorage::Compression::none;
  return encode(values, spec.storage, chunk_elements(spec), deflates ? default_min_ratio : 1.0);
}

std::span<const unsigned char> Encoded::chunk(std::size_t i) const {
  const std::uint64_t begin = i == 0 ? 0 : ends[i - 1];
  return data().subspan(begin, static_cast<std::size_t>(ends[i] - begin));
}

namespace {

// HDF5 shuffle filter (H5Zshuffle.c): byte j of element i goes to out[j * n + i].
template <std::size_t E>
void shuffle(const unsigned char* in, unsigned char* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < E; ++j) out[j * n + i] = in[i * E + j];
}

// HDF5's hard double->float conversion (H5Tconv.c, H5T_CONV_Ff): beyond +-FLT_MAX is +-inf,
// even where round-to-nearest would give FLT_MAX (up to half an ulp above it); else a C cast.
float to_float32(double x) {
  constexpr double max = std::numeric_limits<float>::max();
  if (x > max) return std::numeric_limits<float>::infinity();
  if (x < -max) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(x);
}

// Appends `n` bytes to `out` without writing them first where the buffer type allows.
void append(std::vector<unsigned char>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  out.insert(out.end(), b, b + n);
}
void append(std::string& out, const void* p, std::size_t n) {
  out.append(static_cast<const char*>(p), n);
}

// compress2's zlib stream of `in` into `scratch`; its size, or 0 when it is not shorter than
// `in` (then the chunk is stored raw). Into a scratch buffer, not the output: resizing the
// output first would zero-fill compressBound() bytes that only shrunk chunks keep.
std::size_t deflate_to(std::span<const unsigned char> in, int level,
                       std::vector<unsigned char>& scratch) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  if (scratch.size() < size) scratch.resize(size);
  const int rc = compress2(scratch.data(), &size, in.data(), static_cast<uLong>(in.size()), level);
  if (rc != Z_OK)
    throw internal_error("chunk_codec: zlib compress2 failed (" + std::to_string(rc) + ")");
  return size < in.size() ? size : 0;
}

// Per-thread buffers, reused from chunk to chunk and task to task: a worker encodes every
// result on the same thread, so after the first task no chunk touches fresh pages.
struct Scratch {
  std::vector<unsigned char> raw, shuffled, deflated;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Whether deflate might shrink `bytes` (`planes` byte planes of equal length, one after another,
// as shuffle leaves them; 1 when not shuffled) by min_ratio, judged without deflating: the
// order-0 entropy of each plane (Shannon 1948, H = -sum p log2 p over its byte values) bounds
// what deflate's Huffman stage makes of it, and `values` repeating one of the 8 values before
// them is what its LZ77 stage finds that the entropy misses. Uniform random doubles estimate at
// ~1.22 (deflate gets 1.18) and are rejected here, at memory speed, instead of by a deflate of
// an eighth of every array (a core-second per GB of 100 KB arrays); anything this lets through
// is still probed by deflate.
// It runs on every long array a worker stores, so it avoids per-byte calls: repeats compare bit
// patterns, and the entropy uses len·H = len·log2(len) − Σ k·log2(k) with k·log2(k) from a table
// (one log2 a count instead of one a byte value and plane: on random data the 2,048 log2 calls
// of an array cost as much as the histograms).
const std::vector<double>& k_log2_k_table() {
  static const std::vector<double> table = [] {
    std::vector<double> t(probe_elements * sizeof(double) + 1, 0.0);
    for (std::size_t i = 1; i < t.size(); ++i)
      t[i] = static_cast<double>(i) * std::log2(static_cast<double>(i));
    return t;
  }();
  return table;
}

bool may_shrink(std::span<const unsigned char> bytes, std::size_t planes,
                std::span<const double> values, double min_ratio) {
  const auto bits_of = [&](std::size_t i) { return std::bit_cast<std::uint64_t>(values[i]); };
  std::size_t repeats = 0;
  for (std::size_t i = 1; i < values.size() && i < 8; ++i)
    for (std::size_t d = 1; d <= i; ++d)
      if (bits_of(i) == bits_of(i - d)) {
        ++repeats;
        break;
      }
  for (std::size_t i = 8; i < values.size(); ++i) {  // without branches: most values repeat none
    const std::uint64_t v = bits_of(i);
    bool seen = false;
    for (std::size_t d = 1; d <= 8; ++d) seen |= v == bits_of(i - d);
    repeats += seen;
  }
  if (4 * repeats >= values.size()) return true;
  const std::size_t len = bytes.size() / planes;
  if (len == 0) return false;
  const std::vector<double>& k_log2_k = k_log2_k_table();
  if (len >= k_log2_k.size()) throw internal_error("chunk_codec: probe longer than its table");
  double bits = 0;
  for (std::size_t p = 0; p < planes; ++p) {
    const unsigned char* b = bytes.data() + p * len;
    // Four histograms, summed after: one would wait on its own increments whenever a byte value
    // follows itself closely.
    std::array<std::array<std::uint32_t, 256>, 4> part{};
    std::size_t i = 0;
    for (; i + 4 <= len; i += 4) {
      ++part[0][b[i]];
      ++part[1][b[i + 1]];
      ++part[2][b[i + 2]];
      ++part[3][b[i + 3]];
    }
    for (; i < len; ++i) ++part[0][b[i]];
    std::size_t runs = 0;  // bytes equal to the one before: LZ77 codes a run for next to nothing
    for (std::size_t j = 1; j < len; ++j) runs += b[j] == b[j - 1];
    double sum = 0;
    for (std::size_t k = 0; k < 256; ++k)
      sum += k_log2_k[part[0][k] + part[1][k] + part[2][k] + part[3][k]];
    const double h = k_log2_k[len] - sum;  // len times the plane's order-0 entropy, in bits
    bits += h * static_cast<double>(len - runs) / static_cast<double>(len);
  }
  return 8.0 * static_cast<double>(len * planes) >= min_ratio * bits;
}

template <class Bytes>
void encode_impl(std::span<const double> values, const SeriesStorage& storage,
                 std::int64_t chunk_elements, double min_ratio, Bytes& out,
                 std::vector<std::uint32_t>& masks, std::vector<std::uint64_t>& ends) {
  using C = SeriesStorage::Compression;
  if (chunk_elements < 1) throw internal_error("chunk_codec: chunk_elements must be >= 1");
  if (storage.compression != C::none && (storage.level < 1 || storage.level > 9))
    throw internal_error("chunk_codec: deflate level " + std::to_string(storage.level) +
                         " outside 1..9");
  const std::size_t e = element_size(storage);
  const auto c = static_cast<std::size_t>(chunk_elements);
  const std::size_t n = values.size();
  const std::size_t chunks = chunk_count(static_cast<std::int64_t>(n), chunk_elements);
  const std::uint32_t all_skipped = storage.compression == C::shuffle_deflate ? 3u : 1u;
  const std::size_t start = out.size();
  masks.clear();
  ends.clear();
  masks.reserve(chunks);
  ends.reserve(chunks);

  Scratch& s = scratch();
  if (s.raw.size() < c * e) s.raw.resize(c * e);
  if (storage.compression == C::shuffle_deflate && s.shuffled.size() < c * e)
    s.shuffled.resize(c * e);
  // Chunk k's values, as stored (float32 rounded), followed by zeros, HDF5's fill value, to a
  // whole chunk: `raw`, unless the values can be appended straight from `values`.
  auto stored = [&](std::size_t first, std::size_t count) {
    if (storage.float32) {
      for (std::size_t i = 0; i < count; ++i) {
        const auto f = to_float32(values[first + i]);
        std::memcpy(s.raw.data() + i * 4, &f, 4);
      }
    } else {
      std::memcpy(s.raw.data(), values.data() + first, count * e);
    }
    std::memset(s.raw.data() + count * e, 0, (c - count) * e);
    return std::span<const unsigned char>(s.raw.data(), c * e);
  };
  auto filtered = [&](std::span<const unsigned char> in, std::size_t elements) {
    if (storage.compression != C::shuffle_deflate) return in;
    if (e == 4)
      shuffle<4>(in.data(), s.shuffled.data(), elements);
    else
      shuffle<8>(in.data(), s.shuffled.data(), elements);
    return std::span<const unsigned char>(s.shuffled.data(), elements * e);
  };

  // Whether the values' chunks are deflated is decided once, for the whole array, from a probe
  // of its first values (filtered as the chunks are): probing every chunk cost a deflate of an
  // eighth of all bytes on random data, 36% of a sweep's CPU, only to store them raw (issue 18).
  // An array's chunks come from one computation (one task's curve or field), so its first
  // values tell how the rest compresses; a function of the values only, so every rank agrees.
  bool deflate_values = storage.compression != C::none;
  const std::size_t probe = std::min(probe_elements, c / 8);
  if (deflate_values && min_ratio > 1.0 && probe > 0 && n >= probe) {
    const auto in = filtered(stored(0, std::min(c, n)).first(probe * e), probe);
    const std::size_t planes = storage.compression == C::shuffle_deflate ? e : 1;
    deflate_values = may_shrink(in, planes, values.first(probe), min_ratio);
    if (deflate_values) {
      const std::size_t size = deflate_to(in, storage.level, s.deflated);
      deflate_values =
          size > 0 && static_cast<double>(probe * e) >= min_ratio * static_cast<double>(size);
    }
  }

  for (std::size_t k = 0; k < chunks; ++k) {
    const std::size_t first = k * c;
    const std::size_t count = std::min(c, n - first);
    // A chunk at least three quarters padding is always deflated: zeros deflate at memory
    // speed and a short array's chunk shrinks to its values. Above that the padding is cheaper
    // written raw than the values deflated, unless the probe found them compressible.
    const bool mostly_padding = count <= c / 4 && count < c;
    bool deflated = false;
    if (deflate_values || mostly_padding) {
      const int level = storage.compression == C::none ? 1 : storage.level;
      const std::size_t size = deflate_to(filtered(stored(first, count), c), level, s.deflated);
      if (size > 0) append(out, s.deflated.data(), size);
      deflated = size > 0;
    }
    if (!deflated) {
      if (!storage.float32 && count == c) {
        append(out, values.data() + first, c * e);  // straight from the values: one copy
      } else {
        const auto raw = stored(first, count);
        append(out, raw.data(), raw.size());
      }
    }
    masks.push_back(deflated ? 0u : all_skipped);
    ends.push_back(out.size() - start);
  }
}

}  // namespace

std::size_t chunk_count(std::int64_t length, std::int64_t chunk_elements) {
  if (length <= 0 || chunk_elements < 1) return 0;
  return static_cast<std::size_t>((length + chunk_elements - 1) / chunk_elements);
}

std::size_t max_encoded_bytes(std::int64_t length, const SeriesStorage& storage,
                              std::int64_t chunk_elements) {
  const std::size_t raw = static_cast<std::size_t>(chunk_elements) * element_size(storage);
  return chunk_count(length, chunk_elements) * raw;  // a deflated chunk is kept only if smaller
}

Encoded encode(std::span<const double> values, const SeriesStorage& storage,
               std::int64_t chunk_elements, double min_ratio) {
  Encoded out;
  out.chunk_elements = chunk_elements;
  out.length = static_cast<std::int64_t>(values.size());
  if (chunk_elements >= 1)
    out.bytes.reserve(max_encoded_bytes(out.length, storage, chunk_elements));
  encode_impl(values, storage, chunk_elements, min_ratio, out.bytes, out.masks, out.ends);
  return out;
}

void encode_append(std::span<const double> values, const SeriesStorage& storage,
                   std::int64_t chunk_elements, double min_ratio, std::string& out,
                   std::vector<std::uint32_t>& masks, std::vector<std::uint64_t>& ends) {
  encode_impl(values, storage, chunk_elements, min_ratio, out, masks, ends);
}

}  // namespace mpisweep::chunk_codec
