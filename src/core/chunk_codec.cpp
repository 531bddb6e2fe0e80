#include <mpisweep/core/chunk_codec.hpp>

#include <mpisweep/core/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>

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

// Appends compress2's zlib stream of `in` to `out` if it is shorter than `in`; returns whether.
bool append_deflated(std::span<const unsigned char> in, int level,
                     std::vector<unsigned char>& out) {
  const std::size_t at = out.size();
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  out.resize(at + size);
  const int rc = compress2(out.data() + at, &size, in.data(), static_cast<uLong>(in.size()), level);
  if (rc != Z_OK)
    throw internal_error("chunk_codec: zlib compress2 failed (" + std::to_string(rc) + ")");
  if (size >= in.size()) {
    out.resize(at);
    return false;
  }
  out.resize(at + size);
  return true;
}

}  // namespace

Encoded encode(std::span<const double> values, const SeriesStorage& storage,
               std::int64_t chunk_elements, double min_ratio) {
  using C = SeriesStorage::Compression;
  if (chunk_elements < 1) throw internal_error("chunk_codec: chunk_elements must be >= 1");
  if (storage.compression != C::none && (storage.level < 1 || storage.level > 9))
    throw internal_error("chunk_codec: deflate level " + std::to_string(storage.level) +
                         " outside 1..9");
  const std::size_t e = element_size(storage);
  const auto c = static_cast<std::size_t>(chunk_elements);
  const std::size_t n = values.size();
  const std::size_t chunks = (n + c - 1) / c;
  const std::uint32_t all_skipped = storage.compression == C::shuffle_deflate ? 3u : 1u;

  Encoded out;
  out.chunk_elements = chunk_elements;
  out.length = static_cast<std::int64_t>(n);
  out.masks.reserve(chunks);
  out.ends.reserve(chunks);
  // Raw and compressed chunks are near the input's size; reserve so appends rarely reallocate.
  out.bytes.reserve(std::min(chunks * c, n + c) * e + chunks * 64);

  std::vector<unsigned char> raw(c * e);
  std::vector<unsigned char> shuffled(storage.compression == C::shuffle_deflate ? c * e : 0);
  // At most an eighth of the chunk, so that on data it rejects (random doubles) the probe costs
  // ~12% of deflating the chunk even in 64 KiB chunks. Below 1,024 doubles a probe misjudges:
  // a smooth curve's 512 first values shrink by 1.249, its 1,024 by 1.289, the chunk by 1.335.
  const std::size_t probe = std::min(probe_elements, c / 8);
  std::vector<unsigned char> probe_in, probe_out;
  if (min_ratio > 1.0 && probe > 0 && storage.compression != C::none) {
    probe_in.resize(probe * e);
    probe_out.reserve(compressBound(static_cast<uLong>(probe * e)));
  }
  // Whether deflating chunk bytes `raw` (count values, the rest padding) is worth trying. A
  // chunk at least three quarters padding always is: zeros deflate at memory speed and a small
  // array's chunk shrinks to its values. Above that, the padding is cheaper written raw than
  // the values deflated, unless the probe finds them compressible (`none` never deflates them).
  auto worth_deflating = [&](std::size_t count) {
    if (count <= c / 4 && count < c) return true;
    if (storage.compression == C::none) return false;
    if (probe_in.empty() || count < probe) return true;
    const unsigned char* in = raw.data();
    if (storage.compression == C::shuffle_deflate) {
      if (e == 4)
        shuffle<4>(raw.data(), probe_in.data(), probe);
      else
        shuffle<8>(raw.data(), probe_in.data(), probe);
      in = probe_in.data();
    }
    probe_out.clear();
    if (!append_deflated({in, probe * e}, storage.level, probe_out)) return false;
    return static_cast<double>(probe * e) >= min_ratio * static_cast<double>(probe_out.size());
  };
  for (std::size_t k = 0; k < chunks; ++k) {
    const std::size_t first = k * c;
    const std::size_t count = std::min(c, n - first);
    if (storage.float32) {
      for (std::size_t i = 0; i < count; ++i) {
        const auto f = to_float32(values[first + i]);
        std::memcpy(raw.data() + i * 4, &f, 4);
      }
    } else {
      std::memcpy(raw.data(), values.data() + first, count * e);
    }
    std::memset(raw.data() + count * e, 0, (c - count) * e);  // HDF5's fill value: zeros

    bool deflated = false;
    switch (storage.compression) {
      case C::none:
        if (worth_deflating(count)) deflated = append_deflated(raw, 1, out.bytes);
        break;
      case C::deflate:
        if (worth_deflating(count)) deflated = append_deflated(raw, storage.level, out.bytes);
        break;
      case C::shuffle_deflate:
        if (!worth_deflating(count)) break;
        if (e == 4)
          shuffle<4>(raw.data(), shuffled.data(), c);
        else
          shuffle<8>(raw.data(), shuffled.data(), c);
        deflated = append_deflated(shuffled, storage.level, out.bytes);
        break;
    }
    if (!deflated) out.bytes.insert(out.bytes.end(), raw.begin(), raw.end());
    out.masks.push_back(deflated ? 0u : all_skipped);
    out.ends.push_back(out.bytes.size());
  }
  return out;
}

}  // namespace mpisweep::chunk_codec
