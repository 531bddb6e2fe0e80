// chunk_codec: chunks encoded on a worker and written with H5Dwrite_chunk read back bit-exactly
// through HDF5's own pipeline (H5Dread, and h5py where installed), for every storage combination.
#include <mpisweep/core/chunk_codec.hpp>
#include <mpisweep/core/error.hpp>

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace cc = mpisweep::chunk_codec;
using mpisweep::SeriesSpec;
using mpisweep::SeriesStorage;
using Compression = SeriesStorage::Compression;

namespace {

fs::path temp_file(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("mpisweep_codec_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d / name;
}

// Our own tiny checks of the HDF5 calls (the archive's RAII layer is private to src/archive).
template <class T>
T ok(T r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string("HDF5 call failed: ") + what);
  return r;
}

// The dataset the archive would create for `storage`: 1-D, unlimited, chunked, codec filters.
hid_t create_values(hid_t file, const std::string& name, const SeriesStorage& storage,
                    std::int64_t chunk) {
  hsize_t dims = 0, maxdims = H5S_UNLIMITED, c = static_cast<hsize_t>(chunk);
  hid_t space = ok(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple");
  hid_t dcpl = ok(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  ok(H5Pset_chunk(dcpl, 1, &c), "H5Pset_chunk");
  for (const auto& f : cc::filters(storage)) {
    const unsigned level = f.level;
    ok(H5Pset_filter(dcpl, static_cast<H5Z_filter_t>(f.id), H5Z_FLAG_OPTIONAL,
                     f.id == cc::filter_deflate ? 1 : 0, &level),
       "H5Pset_filter");
  }
  hid_t type = storage.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  hid_t d =
      ok(H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  H5Pclose(dcpl);
  H5Sclose(space);
  return d;
}

// What the master will do: extend, then copy each encoded chunk into place.
void write_encoded(hid_t d, std::int64_t start, const cc::Encoded& e) {
  hsize_t extent = static_cast<hsize_t>(start + e.length);
  ok(H5Dset_extent(d, &extent), "H5Dset_extent");
  for (std::size_t k = 0; k < e.chunks(); ++k) {
    hsize_t offset = static_cast<hsize_t>(start + static_cast<std::int64_t>(k) * e.chunk_elements);
    auto bytes = e.chunk(k);
    ok(H5Dwrite_chunk(d, H5P_DEFAULT, e.masks[k], &offset, bytes.size(), bytes.data()),
       "H5Dwrite_chunk");
  }
}

std::vector<double> read_all(hid_t d) {
  hid_t space = ok(H5Dget_space(d), "H5Dget_space");
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  H5Sclose(space);
  std::vector<double> out(n);
  if (n) ok(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "H5Dread");
  return out;
}

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

// Deterministic data: random bit patterns, random doubles in [-0.5, 0.5) (their exponent bytes
// repeat: shuffle + deflate gains ~1.1:1), a smooth curve, a repetitive field.
std::vector<double> make(const std::string& kind, std::size_t n, std::uint64_t seed = 1) {
  std::vector<double> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < n; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64 (Marsaglia 2003)
    if (kind == "bits")
      std::memcpy(&v[i], &s, 8);  // every byte random: nothing to compress
    else if (kind == "random")
      v[i] = static_cast<double>(s >> 11) * 0x1p-53 - 0.5;
    else if (kind == "smooth")
      v[i] = std::sin(0.001 * static_cast<double>(i)) * 3.0;
    else
      v[i] = static_cast<double>((i / 7) % 5);
  }
  return v;
}

double expected(double x, bool float32) {
  return float32 ? static_cast<double>(static_cast<float>(x)) : x;
}

struct Storage {
  Compression compression;
  int level;
  bool float32;
  std::string name() const {
    const char* c = compression == Compression::none      ? "none"
                    : compression == Compression::deflate ? "deflate"
                                                          : "shuffle_deflate";
    return std::string(c) + std::to_string(level) + (float32 ? "_f32" : "_f64");
  }
  SeriesStorage get() const { return {compression, level, float32}; }
};

std::vector<Storage> all_storages() {
  std::vector<Storage> out;
  for (bool f32 : {false, true}) {
    out.push_back({Compression::none, 1, f32});
    out.push_back({Compression::deflate, 1, f32});
    out.push_back({Compression::deflate, 9, f32});
    out.push_back({Compression::shuffle_deflate, 1, f32});
    out.push_back({Compression::shuffle_deflate, 6, f32});
  }
  return out;
}

}  // namespace

TEST(ChunkCodec, ChunkRuleFollowsLengthAndShape) {
  SeriesSpec curve;
  EXPECT_EQ(cc::chunk_elements(curve), 8192);               // unknown length: 64 KiB
  EXPECT_EQ(cc::chunk_elements(curve, 100000), 100000);     // one chunk per task (800 KB)
  EXPECT_EQ(cc::chunk_elements(curve, 1000), 8000);         // 8 whole arrays in 64 KiB
  EXPECT_EQ(cc::chunk_elements(curve, 5000), 5000);         // 1 array: 2 would pass 64 KiB
  EXPECT_EQ(cc::chunk_elements(curve, 1'000'000), 131072);  // capped at 1 MiB
  curve.storage.float32 = true;
  EXPECT_EQ(cc::chunk_elements(curve), 16384);
  EXPECT_EQ(cc::chunk_elements(curve, 1'000'000), 262144);
  SeriesSpec field;
  field.shape = {64, 64};
  EXPECT_EQ(cc::chunk_elements(field, 7), 8192);  // shape wins: two fields a chunk
  field.shape = {1000, 300};                      // 2.4 MB: whole rows of 300
  EXPECT_EQ(cc::chunk_elements(field), 131072 / 300 * 300);
  field.shape = {2, 200000};  // a row over 1 MiB: the cap
  EXPECT_EQ(cc::chunk_elements(field), 131072);
  // Once an archive fixed the chunk (planner or resumed file), it is the answer.
  curve.chunk = 20000;
  EXPECT_EQ(cc::chunk_elements(curve), 20000);
  EXPECT_EQ(cc::chunk_elements(curve, 1'000'000), 20000);
}

TEST(ChunkCodec, FiltersAndErrors) {
  ASSERT_EQ(cc::filters({Compression::none, 5, false}).size(), 1u);
  EXPECT_EQ(cc::filters({Compression::none, 5, false})[0].level, 1u);
  auto sd = cc::filters({Compression::shuffle_deflate, 4, true});
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].id, H5Z_FILTER_SHUFFLE);
  EXPECT_EQ(sd[1].id, H5Z_FILTER_DEFLATE);
  EXPECT_EQ(sd[1].level, 4u);
  std::vector<double> v(10, 1.0);
  EXPECT_THROW(cc::encode(v, {Compression::deflate, 0, false}, 4), mpisweep::internal_error);
  EXPECT_THROW(cc::encode(v, {Compression::deflate, 10, false}, 4), mpisweep::internal_error);
  EXPECT_THROW(cc::encode(v, {}, 0), mpisweep::internal_error);
  auto e = cc::encode({}, {}, 4);
  EXPECT_EQ(e.chunks(), 0u);
  EXPECT_EQ(e.stored_bytes(), 0u);
}

// Incompressible chunks go in raw (every filter skipped): the chunk is the values' own bytes;
// compressible ones are deflated (mask 0) and smaller.
TEST(ChunkCodec, RandomIsStoredRawSmoothIsCompressed) {
  const auto r = make("bits", 3000);
  auto e = cc::encode(r, {Compression::shuffle_deflate, 1, false}, 1000);
  ASSERT_EQ(e.chunks(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(e.masks[k], 3u);
    ASSERT_EQ(e.chunk(k).size(), 8000u);
    EXPECT_EQ(std::memcmp(e.chunk(k).data(), r.data() + k * 1000, 8000), 0);
  }
  auto none = cc::encode(r, {Compression::none, 1, false}, 1000);
  EXPECT_EQ(none.stored_bytes(), 24000u);
  const auto s = make("smooth", 3000);
  auto z = cc::encode(s, {Compression::shuffle_deflate, 1, false}, 1000);
  for (auto m : z.masks) EXPECT_EQ(m, 0u);
  EXPECT_LT(z.stored_bytes(), 24000u);
  // `none` deflates only the last chunk, for its zero padding: 10 values + 2980 zeros (23,920
  // bytes raw) take a few hundred.
  auto pad = cc::encode(s, {Compression::none, 1, false}, 2990);
  ASSERT_EQ(pad.chunks(), 2u);
  EXPECT_EQ(pad.masks[0], 1u);
  EXPECT_EQ(pad.chunk(0).size(), 2990u * 8);
  EXPECT_EQ(pad.masks[1], 0u);
  EXPECT_LT(pad.chunk(1).size(), 400u);
}

// The probe: random doubles (1.1-1.2 from deflate) go in raw without deflating the chunk, a
// smooth curve (with shuffle) and a repetitive field are deflated, a padded last chunk always is.
TEST(ChunkCodec, ProbeStoresRandomRawKeepsSmoothCompressed) {
  const std::int64_t c = 8192;
  for (const Storage& st :
       {Storage{Compression::shuffle_deflate, 1, false}, Storage{Compression::deflate, 1, false},
        Storage{Compression::shuffle_deflate, 1, true}}) {
    SCOPED_TRACE(st.name());
    const std::uint32_t raw_mask = st.compression == Compression::shuffle_deflate ? 3u : 1u;
    const auto r = make("random", 3 * c + 100);
    const auto always = cc::encode(r, st.get(), c);
    const auto probed = cc::encode(r, st.get(), c, cc::default_min_ratio);
    ASSERT_EQ(probed.chunks(), 4u);
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(always.masks[k], 0u) << "deflate gains a little on uniform doubles";
      EXPECT_LT(always.chunk(k).size(), c * cc::element_size(st.get()));
      EXPECT_EQ(probed.masks[k], raw_mask);
      EXPECT_EQ(probed.chunk(k).size(), c * cc::element_size(st.get()));
    }
    EXPECT_EQ(probed.masks[3], 0u);  // 100 values + padding
    // Deflate without shuffle gains ~1.06 on a smooth curve of doubles: raw as well.
    const auto sm = cc::encode(make("smooth", 3 * c), st.get(), c, cc::default_min_ratio);
    for (auto m : sm.masks)
      EXPECT_EQ(m, st.compression == Compression::deflate ? raw_mask : 0u) << "smooth";
    for (const char* kind : {"smooth", "repetitive"}) {
      const auto p = cc::encode(make(kind, 3 * c), st.get(), c, cc::default_min_ratio);
      if (st.compression == Compression::deflate && std::string(kind) == "smooth") continue;
      for (auto m : p.masks) EXPECT_EQ(m, 0u) << kind;
      // The probe's ratio threshold holds for the whole chunk too.
      for (std::size_t k = 0; k < p.chunks(); ++k)
        EXPECT_GT(static_cast<double>(c * cc::element_size(st.get())),
                  1.2 * static_cast<double>(p.chunk(k).size()));
    }
  }
}

// The probe decides once per array, from its first values: a curve whose first chunk is smooth
// keeps every chunk deflated where it shrinks (its random tail too, ~1.18), and an array whose
// first chunk is random is stored raw throughout, its later zeros too, without deflating any
// chunk but the mostly-padding last one. A probe per chunk would decide chunk by chunk.
// The probe's entropy estimate turns random data away without deflating it, but not data whose
// bytes look random one by one and repeat as values, which deflate's LZ77 stage shrinks: each
// random value four times in a row, not shuffled, deflates ~3x although every byte plane is as
// varied as noise. Random data stays raw, smooth data is deflated.
TEST(ChunkCodec, ProbeKeepsRepeatsThatLookRandomByteByByte) {
  const std::int64_t c = 8192;
  const auto random = make("random", c / 4);
  std::vector<double> repeated;
  for (double v : random) repeated.insert(repeated.end(), 4, v);
  for (const auto comp : {Compression::deflate, Compression::shuffle_deflate}) {
    const SeriesStorage st{comp, 1, false};
    const auto r = cc::encode(repeated, st, c, cc::default_min_ratio);
    ASSERT_EQ(r.chunks(), 1u);
    if (comp == Compression::deflate) {
      EXPECT_EQ(r.masks[0], 0u) << "repeats deflated";
      EXPECT_LT(r.chunk(0).size() * 2, c * 8u);
    }
    const auto noise = cc::encode(make("random", c), st, c, cc::default_min_ratio);
    EXPECT_NE(noise.masks[0], 0u) << "random data stored raw";
    const auto smooth = cc::encode(make("smooth", c), st, c, cc::default_min_ratio);
    if (comp == Compression::shuffle_deflate) {
      EXPECT_EQ(smooth.masks[0], 0u) << "smooth deflated";
    }
  }
}

TEST(ChunkCodec, ProbeDecidesOncePerArray) {
  const std::int64_t c = 8192;
  const SeriesStorage st{Compression::shuffle_deflate, 1, false};
  auto smooth_then_random = make("smooth", 3 * c);
  const auto tail = make("random", 2 * c);
  smooth_then_random.insert(smooth_then_random.end(), tail.begin(), tail.end());
  const auto a = cc::encode(smooth_then_random, st, c, cc::default_min_ratio);
  ASSERT_EQ(a.chunks(), 5u);
  for (std::size_t k = 0; k < 5; ++k) EXPECT_EQ(a.masks[k], 0u) << "chunk " << k;
  EXPECT_LT(a.chunk(4).size(), c * 8u);

  auto random_then_zeros = make("random", c);
  random_then_zeros.resize(3 * c, 0.0);
  random_then_zeros.push_back(1.0);  // a last chunk of 1 value: mostly padding
  const auto b = cc::encode(random_then_zeros, st, c, cc::default_min_ratio);
  ASSERT_EQ(b.chunks(), 4u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(b.masks[k], 3u) << "chunk " << k;
    EXPECT_EQ(b.chunk(k).size(), c * 8u);
    EXPECT_EQ(std::memcmp(b.chunk(k).data(), random_then_zeros.data() + k * c, c * 8), 0);
  }
  EXPECT_EQ(b.masks[3], 0u);
  EXPECT_LT(b.chunk(3).size(), 1000u);

  // encode_append writes the same chunks after what the buffer holds.
  std::string message = "header";
  std::vector<std::uint32_t> masks;
  std::vector<std::uint64_t> ends;
  cc::encode_append(smooth_then_random, st, c, cc::default_min_ratio, message, masks, ends);
  EXPECT_EQ(masks, a.masks);
  EXPECT_EQ(ends, a.ends);
  ASSERT_EQ(message.size(), 6 + a.stored_bytes());
  EXPECT_EQ(std::memcmp(message.data() + 6, a.data().data(), a.stored_bytes()), 0);
  EXPECT_LE(a.stored_bytes(), cc::max_encoded_bytes(5 * c, st, c));
  EXPECT_EQ(cc::max_encoded_bytes(5 * c, st, c), 5u * c * 8);
}

// Every storage, lengths around the chunk size, two tasks' arrays back to back (the second
// starting on the next chunk boundary, as the master will place them): H5Dread returns exactly
// the values (rounded to float where stored so) and zeros in the padding between them.
TEST(ChunkCodec, DirectChunkWriteReadsBackBitExact) {
  const std::int64_t c = 1000;
  const fs::path path = temp_file("roundtrip.h5");
  hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  std::vector<std::string> names;
  for (const auto& st : all_storages()) {
    for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, c - 1, c, c + 1, 7 * c + 13}) {
      for (const char* kind : {"random", "smooth", "repetitive"}) {
        for (double min_ratio : {1.0, cc::default_min_ratio}) {
          const std::string name =
              st.name() + "_" + kind + "_" + std::to_string(n) + (min_ratio > 1 ? "_probed" : "");
          SCOPED_TRACE(name);
          const auto a = make(kind, static_cast<std::size_t>(n), 1);
          const auto b = make(kind, static_cast<std::size_t>(n) + 5, 2);
          hid_t d = create_values(file, name, st.get(), c);
          write_encoded(d, 0, cc::encode(a, st.get(), c, min_ratio));
          const std::int64_t second = (n + c - 1) / c * c;
          write_encoded(d, second, cc::encode(b, st.get(), c, min_ratio));
          const auto back = read_all(d);
          H5Dclose(d);
          ASSERT_EQ(back.size(), static_cast<std::size_t>(second) + b.size());
          for (std::size_t i = 0; i < a.size(); ++i)
            ASSERT_EQ(bits(back[i]), bits(expected(a[i], st.float32))) << "a[" << i << "]";
          for (std::size_t i = a.size(); i < static_cast<std::size_t>(second); ++i)
            ASSERT_EQ(bits(back[i]), 0u) << "padding " << i;
          for (std::size_t i = 0; i < b.size(); ++i)
            ASSERT_EQ(bits(back[second + i]), bits(expected(b[i], st.float32))) << "b[" << i << "]";
          names.push_back(name);
        }
      }
    }
  }
  H5Fclose(file);
  EXPECT_EQ(names.size(), all_storages().size() * 6 * 3 * 2);
  fs::remove(path);
}

// The codec's rounding to float32 is HDF5's own: HDF5 converts doubles written into a float
// dataset; those stored bits equal the codec's raw chunk, for ties, subnormals, overflow, NaN.
TEST(ChunkCodec, Float32RoundingMatchesHdf5Conversion) {
  const double flt_max = std::numeric_limits<float>::max();
  std::vector<double> v = {0.1,
                           1.0 / 3.0,
                           -0.0,
                           1.0 + 0x1p-24,
                           1.0 + 0x1p-24 + 0x1p-52,
                           1.0 + 3 * 0x1p-24,
                           1e-40,
                           -1e-45,
                           1e-46,
                           0x1p-150,
                           0x1p-149 * 1.5,
                           flt_max,
                           -flt_max,
                           std::nextafter(flt_max, 1e300),
                           flt_max * (1 + 0x1p-25),
                           1e39,
                           -1e300,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           123456789.123,
                           -2.5e-10};
  const auto more = make("random", 200, 9);
  for (double x : more) v.push_back(x * 1e6);
  const std::int64_t n = static_cast<std::int64_t>(v.size());

  const fs::path path = temp_file("float32.h5");
  hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  hsize_t dims = static_cast<hsize_t>(n);
  hid_t space = ok(H5Screate_simple(1, &dims, nullptr), "H5Screate_simple");
  hid_t d = ok(H5Dcreate2(file, "f", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
               "H5Dcreate2");
  ok(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
  std::vector<float> hdf5(v.size());
  ok(H5Dread(d, H5T_IEEE_F32LE, H5S_ALL, H5S_ALL, H5P_DEFAULT, hdf5.data()), "H5Dread");
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(file);
  fs::remove(path);

  auto e = cc::encode(v, {Compression::none, 1, true}, n);
  ASSERT_EQ(e.chunks(), 1u);
  ASSERT_EQ(e.masks[0], 1u);
  ASSERT_EQ(e.chunk(0).size(), v.size() * 4);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t ours, theirs;
    std::memcpy(&ours, e.chunk(0).data() + 4 * i, 4);
    std::memcpy(&theirs, &hdf5[i], 4);
    EXPECT_EQ(ours, theirs) << "value " << i << " = " << v[i];
  }
}

// Where both deflate, the codec's chunk is byte for byte the one HDF5 stores itself (H5Dwrite
// through the same pipeline, read back raw with H5Dread_chunk), padding of the last chunk too.
TEST(ChunkCodec, CompressedChunksEqualHdf5Own) {
  const std::int64_t c = 1000, n = 3 * c + 250;
  const fs::path path = temp_file("same.h5");
  hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  int compared = 0;
  for (const auto& st : all_storages()) {
    if (st.compression == Compression::none) continue;
    SCOPED_TRACE(st.name());
    const auto v = make("smooth", static_cast<std::size_t>(n));
    hid_t d = create_values(file, st.name(), st.get(), c);
    hsize_t extent = static_cast<hsize_t>(n);
    ok(H5Dset_extent(d, &extent), "H5Dset_extent");
    ok(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
    ok(H5Fflush(file, H5F_SCOPE_LOCAL), "H5Fflush");
    const auto e = cc::encode(v, st.get(), c);
    ASSERT_EQ(e.chunks(), 4u);
    for (std::size_t k = 0; k < e.chunks(); ++k) {
      hsize_t offset = static_cast<hsize_t>(k) * static_cast<hsize_t>(c);
      hsize_t size = 0;
      ok(H5Dget_chunk_storage_size(d, &offset, &size), "H5Dget_chunk_storage_size");
      std::vector<unsigned char> theirs(size);
      std::uint32_t mask = 99;
      ok(H5Dread_chunk(d, H5P_DEFAULT, &offset, &mask, theirs.data()), "H5Dread_chunk");
      ASSERT_EQ(e.masks[k], 0u);
      EXPECT_EQ(mask, 0u);
      auto ours = e.chunk(k);
      ASSERT_EQ(ours.size(), theirs.size()) << "chunk " << k;
      EXPECT_EQ(std::memcmp(ours.data(), theirs.data(), ours.size()), 0) << "chunk " << k;
      ++compared;
    }
    H5Dclose(d);
  }
  H5Fclose(file);
  fs::remove(path);
  EXPECT_EQ(compared, 8 * 4);
}

// h5py (a reader that knows nothing of how the chunks were made) sees the same values.
TEST(ChunkCodec, H5pyReadsDirectChunks) {
  if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-h5py not installed";
  const std::int64_t c = 1000, n = 2 * c + 7;
  const fs::path path = temp_file("h5py.h5");
  hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  const auto v = make("smooth", static_cast<std::size_t>(n));
  for (const auto& st : all_storages()) {
    hid_t d = create_values(file, st.name(), st.get(), c);
    write_encoded(d, 0, cc::encode(v, st.get(), c));
    H5Dclose(d);
  }
  // The reference: plain contiguous float64 written by H5Dwrite.
  hsize_t dims = static_cast<hsize_t>(n);
  hid_t space = ok(H5Screate_simple(1, &dims, nullptr), "H5Screate_simple");
  hid_t d = ok(
      H5Dcreate2(file, "reference", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "H5Dcreate2");
  ok(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(file);
  const fs::path script = temp_file("check.py");
  std::ofstream(script) << R"(import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    ref = f["reference"][:]
    names = [k for k in f if k != "reference"]
    for k in names:
        want = ref.astype(np.float32).astype(np.float64) if k.endswith("f32") else ref
        got = f[k][:].astype(np.float64)
        assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), k
    print("h5py ok", len(names))
    sys.exit(0 if len(names) == 10 else 1)
)";
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + path.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  fs::remove(path);
  fs::remove(script);
}
