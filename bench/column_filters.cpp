// Per-column cost and gain of the /tasks filters (issue 15 part 2): reads every 1-D dataset under
// /tasks and /series/*/{offset,length} of an archive, cuts it into chunks of 1024 rows (the
// archive's task chunk), and compresses each chunk with zlib level 1, with and without HDF5's
// byte shuffle first (done here the way H5Zshuffle.c does: byte k of every element together).
// Prints, per column, stored/raw bytes and compression time per million rows, so the column
// table's filter choice (src/archive/columns.cpp) rests on a measurement of real archives.
// Usage: bench_column_filters ARCHIVE.h5
#include <hdf5.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

constexpr std::size_t chunk_rows = 1024;

struct Cost {
  double bytes = 0, seconds = 0;
};

Cost deflate_chunks(const std::vector<unsigned char>& raw, std::size_t elem, bool shuffle) {
  Cost c;
  std::vector<unsigned char> in, out;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first < raw.size(); first += chunk_rows * elem) {
    const std::size_t n = std::min(chunk_rows * elem, raw.size() - first);
    in.assign(raw.begin() + first, raw.begin() + first + n);
    if (shuffle && elem > 1) {
      const std::size_t count = n / elem;
      for (std::size_t i = 0; i < count; ++i)
        for (std::size_t b = 0; b < elem; ++b) in[b * count + i] = raw[first + i * elem + b];
    }
    uLongf size = compressBound(n);
    out.resize(size);
    compress2(out.data(), &size, in.data(), n, 1);
    c.bytes += static_cast<double>(std::min<std::size_t>(size, n));  // HDF5 keeps the smaller
  }
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

herr_t visit(hid_t obj, const char* name, const H5O_info_t* info, void* data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  const std::string path = name;
  if (path.rfind("tasks/", 0) != 0 &&
      !(path.rfind("series/", 0) == 0 && path.find("/values") == std::string::npos))
    return 0;
  hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
  hid_t space = H5Dget_space(d), type = H5Dget_type(d);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const std::size_t elem = H5Tget_size(type);
  std::vector<unsigned char> raw(static_cast<std::size_t>(n) * elem);
  if (n > 0) H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
  const double mrows = static_cast<double>(n) / 1e6, size = static_cast<double>(raw.size());
  const Cost plain = deflate_chunks(raw, elem, false), shuffled = deflate_chunks(raw, elem, true);
  std::printf("%-34s %4zu %8.1f %7.2f %9.0f %7.2f %9.0f\n", name, elem, size / 1048576,
              size / plain.bytes, plain.seconds * 1e3 / mrows, size / shuffled.bytes,
              shuffled.seconds * 1e3 / mrows);
  *static_cast<double*>(data) += size;
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_column_filters ARCHIVE.h5\n");
    return 2;
  }
  hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return 1;
  std::printf("%-34s %4s %8s %7s %9s %7s %9s\n", "column", "B", "raw MiB", "deflate", "ms/Mrow",
              "shuf+df", "ms/Mrow");
  double total = 0;
  H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit, &total, H5O_INFO_BASIC);
  std::printf("(ratio = raw / stored bytes, zlib level 1, chunks of %zu rows)\n", chunk_rows);
  H5Fclose(f);
}
