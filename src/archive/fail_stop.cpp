// The fail-stop file driver: HDF5's sec2 (POSIX) driver underneath, with one change. The first
// write that fails (disk full, quota, I/O error) is recorded in the caller's IoStatus and from
// then on every write and truncate is dropped and reported as done. Why:
//  - The file on disk then holds exactly the writes made before the failure, in order: what a
//    kill -9 at that moment leaves, which SWMR's ordered flushes keep valid and resume recovers.
//    HDF5's own error path keeps going after a failed raw-data write ("push error, but keep
//    going", H5Fint.c flush phases) and would then write metadata that points at the chunk that
//    never reached the disk.
//  - HDF5 1.10.8 never sees a failed write, so it never takes the failed-close path that leaves a
//    half-destroyed file id behind for its atexit shutdown to crash on (issue 11 item 5: rc 139).
// The writer checks IoStatus after every flush and close and stops with one line naming errno.
// Reads and opens are passed through unchanged (an open's errno is recorded too).
#include "h5.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mpisweep::archive::h5 {

namespace {

struct Info {
  IoStatus* status;
};

struct File {
  H5FD_t pub;  // first: HDF5 casts between H5FD_t* and the driver's own struct
  H5FD_t* inner;
  IoStatus* status;
};

// The public H5FD* calls below clear HDF5's error stack on entry. Called while HDF5 unwinds an
// error (closing a file it failed to open), they would erase its cause ("already open for
// write", which recovery.cpp looks for), so a non-empty stack is put back afterwards.
class KeepStack {
 public:
  KeepStack() : saved_(H5Eget_num(H5E_DEFAULT) > 0 ? H5Eget_current_stack() : H5I_INVALID_HID) {}
  ~KeepStack() {
    if (saved_ >= 0) H5Eset_current_stack(saved_);  // closes saved_
  }
  KeepStack(const KeepStack&) = delete;
  KeepStack& operator=(const KeepStack&) = delete;

 private:
  hid_t saved_;
};

File* self(H5FD_t* f) { return reinterpret_cast<File*>(f); }
const File* self(const H5FD_t* f) { return reinterpret_cast<const File*>(f); }

// sec2's features (H5FDsec2.c), less the POSIX handle: get_handle gives sec2's, but nothing here
// relies on it. SWMR needs SUPPORTS_SWMR_IO, which sec2 has.
constexpr unsigned long features = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
                                   H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA |
                                   H5FD_FEAT_SUPPORTS_SWMR_IO | H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;

void* info_copy(const void* info) { return new Info(*static_cast<const Info*>(info)); }
herr_t info_free(void* info) {
  delete static_cast<Info*>(info);
  return 0;
}
void* info_get(H5FD_t* f) { return new Info{self(f)->status}; }

H5FD_t* open(const char* name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
  const auto* info = static_cast<const Info*>(H5Pget_driver_info(fapl));
  if (!info) return nullptr;
  // The inner sec2 file gets a copy of this access list (file locking settings included) with
  // sec2 as its driver.
  const hid_t inner_fapl = H5Pcopy(fapl);
  if (inner_fapl < 0) return nullptr;
  H5FD_t* inner = nullptr;
  if (H5Pset_fapl_sec2(inner_fapl) >= 0) {
    errno = 0;
    inner = H5FDopen(name, flags, inner_fapl, maxaddr);
    // The last attempt's: H5Fcreate tries an open without O_CREAT first, which fails (ENOENT).
    if (info->status) info->status->open_error = inner ? 0 : (errno ? errno : EIO);
  }
  H5Pclose(inner_fapl);
  if (!inner) return nullptr;
  auto* f = new File{};
  f->inner = inner;
  f->status = info->status;
  return &f->pub;
}

herr_t close(H5FD_t* f) {
  KeepStack keep;
  const herr_t r = H5FDclose(self(f)->inner);
  delete self(f);
  return r;
}

int cmp(const H5FD_t* a, const H5FD_t* b) {
  KeepStack keep;
  return H5FDcmp(self(a)->inner, self(b)->inner);
}

herr_t query(const H5FD_t*, unsigned long* flags) {
  *flags = features;
  return 0;
}

haddr_t get_eoa(const H5FD_t* f, H5FD_mem_t type) {
  KeepStack keep;
  return H5FDget_eoa(self(f)->inner, type);
}
herr_t set_eoa(H5FD_t* f, H5FD_mem_t type, haddr_t addr) {
  KeepStack keep;
  return H5FDset_eoa(self(f)->inner, type, addr);
}
haddr_t get_eof(const H5FD_t* f, H5FD_mem_t type) {
  KeepStack keep;
  return H5FDget_eof(self(f)->inner, type);
}

herr_t get_handle(H5FD_t* f, hid_t fapl, void** handle) {
  KeepStack keep;
  return H5FDget_vfd_handle(self(f)->inner, fapl, handle);
}

herr_t read(H5FD_t* f, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void* buf) {
  KeepStack keep;
  return H5FDread(self(f)->inner, type, dxpl, addr, size, buf);
}

bool stopped(const File* f) { return f->status && f->status->error != 0; }

// A failed write or truncate: record its errno, forget HDF5's error stack and report success;
// nothing else reaches the disk. sec2 writes the errno into its message ("errno = 28"), which
// survives the allocations of error reporting that may reset errno itself.
herr_t swallow(File* f) {
  int e = errno;
  if (!f->status) return -1;  // no one to tell: fail as sec2 would
  const std::string stack = take_error_stack();
  if (const auto at = stack.find("errno = "); at != std::string::npos)
    e = std::atoi(stack.c_str() + at + 8);
  f->status->error = e > 0 ? e : EIO;
  return 0;
}

herr_t write(H5FD_t* f, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void* buf) {
  KeepStack keep;
  File* s = self(f);
  if (stopped(s)) return 0;
  errno = 0;
  if (H5FDwrite(s->inner, type, dxpl, addr, size, buf) >= 0) return 0;
  return swallow(s);
}

herr_t truncate(H5FD_t* f, hid_t dxpl, hbool_t closing) {
  KeepStack keep;
  File* s = self(f);
  if (stopped(s)) return 0;
  errno = 0;
  if (H5FDtruncate(s->inner, dxpl, closing) >= 0) return 0;
  return swallow(s);
}

herr_t flush(H5FD_t* f, hid_t dxpl, hbool_t closing) {
  KeepStack keep;
  return H5FDflush(self(f)->inner, dxpl, closing);
}
herr_t lock(H5FD_t* f, hbool_t rw) {
  KeepStack keep;
  return H5FDlock(self(f)->inner, rw);
}
herr_t unlock(H5FD_t* f) {
  KeepStack keep;
  return H5FDunlock(self(f)->inner);
}

hid_t driver_id() {
  static const hid_t id = [] {
    static H5FD_class_t cls = {};
    cls.name = "mpisweep_fail_stop";
    cls.maxaddr = (haddr_t{1} << (8 * sizeof(off_t) - 1)) - 1;  // sec2's
    cls.fc_degree = H5F_CLOSE_WEAK;
    cls.fapl_size = sizeof(Info);
    cls.fapl_get = info_get;
    cls.fapl_copy = info_copy;
    cls.fapl_free = info_free;
    cls.open = open;
    cls.close = close;
    cls.cmp = cmp;
    cls.query = query;
    cls.get_eoa = get_eoa;
    cls.set_eoa = set_eoa;
    cls.get_eof = get_eof;
    cls.get_handle = get_handle;
    cls.read = read;
    cls.write = write;
    cls.flush = flush;
    cls.truncate = truncate;
    cls.lock = lock;
    cls.unlock = unlock;
    const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
    std::memcpy(cls.fl_map, map, sizeof map);
    return check(H5FDregister(&cls), "H5FDregister(fail-stop driver)");
  }();
  return id;
}

}  // namespace

PropList file_access(bool latest, IoStatus& status) {
  PropList p = file_access(latest);
  Info info{&status};
  check(H5Pset_driver(p.id(), driver_id(), &info), "H5Pset_driver(fail-stop driver)");
  return p;
}

std::string io_error_text(int err, const std::string& path) {
  switch (err) {
    case ENOSPC: return "disk full writing " + path;
    case EDQUOT: return "disk quota exceeded writing " + path;
    case EROFS: return "read-only file system: " + path;
    case EACCES:
    case EPERM: return "permission denied writing " + path;
    case EIO: return "I/O error writing " + path;
    default: return std::string(std::strerror(err)) + " writing " + path;
  }
}

}  // namespace mpisweep::archive::h5
