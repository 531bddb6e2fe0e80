// Series ingestion benchmarks for issue 18 (scripts/bench, section "series").
//
//   bench_series codec [MB]
//       per data kind (random doubles, a smooth curve, a repetitive field) and storage: the
//       ratio (float64 bytes in / bytes stored) and the encoding rate of one worker thread (MB of
//       float64 values per second), best of 3, over MB megabytes of each kind (default 16).
//   bench_series write DIR VALUES TASKS STORAGE [CHUNK]
//       the master's ceiling: TASKS arrays of VALUES float64 each, encoded by chunk_codec before
//       the clock starts (the workers' job), written as the master will write them: one SWMR
//       archive-like file, each array (or, for arrays shorter than a chunk, each worker batch of
//       arrays encoded together) starting on a chunk boundary, H5Dwrite_chunk per chunk,
//       offset/length columns, a flush per second of writing, close and fsync. Prints MB/s of
//       float64 values. STORAGE: none | deflate<L> | shuffle_deflate<L>, "_f32" appended for
//       float32. CHUNK (optional, elements) overrides the chunk rule's choice, e.g. 8192 (the
//       64 KiB chunk of a series without a declared shape) against 131072 (1 MiB).
#include <mpisweep/core/chunk_codec.hpp>

#include <hdf5.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace cc = mpisweep::chunk_codec;
using mpisweep::SeriesStorage;
using Compression = SeriesStorage::Compression;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
T ok(T r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string("HDF5 call failed: ") + what);
  return r;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The three kinds of data issue 18 names. random: what noop's payload stores (uniform in [0,1));
// smooth: a damped oscillation sampled finely (a curve, a field of a PDE solution); repetitive:
// a piecewise constant field with few distinct values (labels, a saturated state).
std::vector<double> make(const std::string& kind, std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    if (kind == "random") {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;  // xorshift64 (Marsaglia 2003)
      v[i] = static_cast<double>(s >> 11) * 0x1p-53;
    } else if (kind == "smooth") {
      v[i] = std::exp(-1e-6 * x) * std::sin(1e-3 * x + static_cast<double>(seed));
    } else {
      v[i] = static_cast<double>((i / 64 + seed) % 4) * 0.25;
    }
  }
  return v;
}

SeriesStorage parse_storage(std::string s) {
  SeriesStorage st;
  const std::string f32 = "_f32";
  if (s.size() > f32.size() && s.compare(s.size() - f32.size(), f32.size(), f32) == 0) {
    st.float32 = true;
    s.resize(s.size() - f32.size());
  }
  auto level_after = [&](const std::string& prefix) {
    return s.size() > prefix.size() ? std::stoi(s.substr(prefix.size())) : 1;
  };
  if (s == "none")
    st.compression = Compression::none;
  else if (s.rfind("shuffle_deflate", 0) == 0)
    st.compression = Compression::shuffle_deflate, st.level = level_after("shuffle_deflate");
  else if (s.rfind("deflate", 0) == 0)
    st.compression = Compression::deflate, st.level = level_after("deflate");
  else
    throw std::runtime_error("bench_series: storage '" + s +
                             "': expected none, deflate<L> or "
                             "shuffle_deflate<L>, optionally with _f32");
  return st;
}

int codec(double mb) {
  const std::size_t n = static_cast<std::size_t>(mb * 1e6 / 8);
  // "+probe": chunk_codec's default_min_ratio probe (fast for random, compact for smooth).
  const std::string names[] = {"none",
                               "deflate1",
                               "shuffle_deflate1",
                               "shuffle_deflate1+probe",
                               "shuffle_deflate6",
                               "none_f32",
                               "shuffle_deflate1_f32",
                               "shuffle_deflate1_f32+probe"};
  std::printf("%-11s %-27s %7s %10s\n", "data", "storage", "ratio", "encode MB/s");
  for (const char* kind : {"random", "smooth", "repetitive"}) {
    const auto v = make(kind, n, 1);
    for (const std::string& name : names) {
      const bool probe = name.ends_with("+probe");
      const SeriesStorage st = parse_storage(probe ? name.substr(0, name.size() - 6) : name);
      const double min_ratio = probe ? cc::default_min_ratio : 1.0;
      mpisweep::SeriesSpec spec;
      spec.storage = st;
      // A 1 MB array per task: chunk_elements follows its length.
      const std::int64_t c = cc::chunk_elements(spec, 131072);
      double best = 1e30;
      std::uint64_t stored = 0;
      for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = Clock::now();
        const auto e = cc::encode(v, st, c, min_ratio);
        best = std::min(best, seconds_since(t0));
        stored = e.stored_bytes();
      }
      std::printf("%-11s %-27s %7.2f %10.0f\n", kind, name.c_str(),
                  static_cast<double>(n * 8) / static_cast<double>(stored),
                  static_cast<double>(n * 8) / 1e6 / best);
    }
  }
  return 0;
}

int write(const std::string& dir, std::int64_t values, std::int64_t tasks,
          const std::string& storage_name, std::int64_t chunk_override) {
  const SeriesStorage st = parse_storage(storage_name);
  mpisweep::SeriesSpec spec;
  spec.storage = st;
  const std::int64_t c = chunk_override > 0 ? chunk_override : cc::chunk_elements(spec, values);
  // Arrays shorter than a chunk travel as a worker's batch: `group` tasks' arrays back to back,
  // encoded together, placed on a chunk boundary (the scheduler batches such small tasks).
  const std::int64_t group = std::max<std::int64_t>(1, c / values);
  // Four distinct units, cycled: the writer's cost does not depend on which bytes it copies.
  std::vector<cc::Encoded> encoded;
  for (std::uint64_t k = 0; k < 4; ++k)
    encoded.push_back(
        cc::encode(make("random", static_cast<std::size_t>(values * group), k + 1), st, c));

  const std::string path = dir + "/bench_series_write.h5";
  const auto t0 = Clock::now();
  hid_t fapl = ok(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  ok(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "libver");
  hid_t file = ok(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "H5Fcreate");
  auto column = [&](const char* name, hid_t type, hsize_t chunk, bool codec_filters) {
    hsize_t dims = 0, maxdims = H5S_UNLIMITED;
    hid_t space = ok(H5Screate_simple(1, &dims, &maxdims), "H5Screate_simple");
    hid_t dcpl = ok(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
    ok(H5Pset_chunk(dcpl, 1, &chunk), "H5Pset_chunk");
    if (codec_filters) {
      for (const auto& f : cc::filters(st))
        ok(H5Pset_filter(dcpl, static_cast<H5Z_filter_t>(f.id), H5Z_FLAG_OPTIONAL,
                         f.id == cc::filter_deflate ? 1 : 0, &f.level),
           "H5Pset_filter");
    } else {
      ok(H5Pset_shuffle(dcpl), "H5Pset_shuffle");
      ok(H5Pset_deflate(dcpl, 1), "H5Pset_deflate");
    }
    hid_t d = ok(H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), name);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
  };
  hid_t vals =
      column("values", st.float32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, static_cast<hsize_t>(c), true);
  hid_t off = column("offset", H5T_STD_I64LE, 1024, false);
  hid_t len = column("length", H5T_STD_I64LE, 1024, false);
  ok(H5Fstart_swmr_write(file), "H5Fstart_swmr_write");

  std::vector<std::int64_t> offsets, lengths;
  std::int64_t next = 0;
  hsize_t flushed_rows = 0;
  auto flush = [&] {
    const hsize_t rows = offsets.size();
    ok(H5Dset_extent(off, &rows), "extent");
    ok(H5Dset_extent(len, &rows), "extent");
    hsize_t first = flushed_rows, count = rows - flushed_rows;
    hid_t mem = ok(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
    for (auto [d, src] : {std::pair{off, &offsets}, std::pair{len, &lengths}}) {
      hid_t space = ok(H5Dget_space(d), "H5Dget_space");
      ok(H5Sselect_hyperslab(space, H5S_SELECT_SET, &first, nullptr, &count, nullptr), "select");
      ok(H5Dwrite(d, H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, src->data() + first), "write");
      H5Sclose(space);
    }
    H5Sclose(mem);
    ok(H5Fflush(file, H5F_SCOPE_LOCAL), "H5Fflush");
    flushed_rows = rows;
  };
  auto last_flush = Clock::now();
  for (std::int64_t t = 0, u = 0; t < tasks; t += group, ++u) {
    const auto& e = encoded[static_cast<std::size_t>(u) % encoded.size()];
    const std::int64_t in_unit = std::min(group, tasks - t);
    const std::int64_t length = in_unit * values;
    hsize_t extent = static_cast<hsize_t>(next + length);
    ok(H5Dset_extent(vals, &extent), "H5Dset_extent");
    for (std::size_t k = 0; k < e.chunks(); ++k) {
      hsize_t at = static_cast<hsize_t>(next + static_cast<std::int64_t>(k) * c);
      auto b = e.chunk(k);
      ok(H5Dwrite_chunk(vals, H5P_DEFAULT, e.masks[k], &at, b.size(), b.data()), "write_chunk");
    }
    for (std::int64_t j = 0; j < in_unit; ++j) {
      offsets.push_back(next + j * values);
      lengths.push_back(values);
    }
    next += (length + c - 1) / c * c;
    if (seconds_since(last_flush) > 1.0) flush(), last_flush = Clock::now();
  }
  if (flushed_rows < offsets.size()) flush();
  const hsize_t stored = H5Dget_storage_size(vals);
  H5Dclose(vals);
  H5Dclose(off);
  H5Dclose(len);
  ok(H5Fclose(file), "H5Fclose");
  H5Pclose(fapl);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) throw std::runtime_error("fsync " + path);
  ::close(fd);
  const double s = seconds_since(t0);
  const double mb = static_cast<double>(values * tasks * 8) / 1e6;
  std::printf(
      "direct_chunk_write %s values=%lld tasks=%lld chunk=%lld MB=%.1f stored_MB=%.1f "
      "s=%.3f MB/s %.1f\n",
      storage_name.c_str(), static_cast<long long>(values), static_cast<long long>(tasks),
      static_cast<long long>(c), mb, static_cast<double>(stored) / 1e6, s, mb / s);
  ::unlink(path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "codec") return codec(argc > 2 ? std::stod(argv[2]) : 16.0);
    if (mode == "write" && (argc == 6 || argc == 7))
      return write(argv[2], std::stoll(argv[3]), std::stoll(argv[4]), argv[5],
                   argc == 7 ? std::stoll(argv[6]) : 0);
    std::fprintf(stderr,
                 "usage: bench_series codec [MB] | write DIR VALUES TASKS STORAGE [CHUNK]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_series: %s\n", e.what());
    return 1;
  }
}
