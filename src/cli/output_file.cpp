#include "output_file.hpp"

#include <mpisweep/core/error.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mpisweep::cli {

namespace {

namespace fs = std::filesystem;

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// Up to `n` bytes from `offset`; fewer at the end of the file or on a read error.
std::string read_bytes(const std::string& path, off_t offset, std::size_t n) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {};
  std::string buf(n, '\0');
  const ssize_t got = ::pread(fd, buf.data(), n, offset);
  ::close(fd);
  buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return buf;
}

bool is_image(const std::string& path) {
  const std::string head = read_bytes(path, 0, 1024);
  if (head.rfind("\x89PNG\r\n\x1a\n", 0) == 0 || head.rfind("%PDF-", 0) == 0) return true;
  // gnuplot's SVG starts with an XML declaration and has the <svg element within the first lines.
  std::size_t i = head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  while (i < head.size() && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  const std::string_view rest(head.data() + i, head.size() - i);
  return (rest.substr(0, 5) == "<?xml" || rest.substr(0, 4) == "<svg") &&
         rest.find("<svg") != std::string_view::npos;
}

// HDF5's superblock sits at byte 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 file
// format specification, "Superblock").
bool is_hdf5(const std::string& path, off_t size) {
  static const char sig[] = "\x89HDF\r\n\x1a\n";
  for (off_t at = 0; at + 8 <= size; at = at ? at * 2 : 512)
    if (read_bytes(path, at, 8) == std::string(sig, 8)) return true;
  return false;
}

// A symbolic link is followed to the file it names, so writing through it keeps the link.
std::string resolve(const std::string& target, const std::string& option) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(target, ec))) return target;
  const fs::path real = fs::weakly_canonical(target, ec);
  if (ec) throw input_error(option, target + " is a symbolic link that cannot be followed");
  return real.string();
}

mode_t current_umask() {
  const mode_t m = ::umask(022);
  ::umask(m);
  return m;
}

}  // namespace

ImageFormat image_format(const std::string& path, const std::string& option) {
  const std::string ext = lower_extension(path);
  if (ext == ".png") return ImageFormat::png;
  if (ext == ".pdf") return ImageFormat::pdf;
  if (ext == ".svg") return ImageFormat::svg;
  throw input_error(option,
                    "'" + path + "': the extension picks the format; use .png, .pdf or .svg");
}

void check_replaceable(const std::string& target_in, OutputKind kind, const std::string& protect,
                       const std::string& option) {
  const std::string target = resolve(target_in, option);
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw input_error(option, "cannot inspect " + target_in + ": " + std::strerror(errno));
  }
  const std::string keep = " (left as it is; choose another name or remove it first)";
  if (S_ISDIR(st.st_mode)) throw input_error(option, target_in + " is a directory" + keep);
  if (!S_ISREG(st.st_mode)) throw input_error(option, target_in + " is not a regular file" + keep);
  struct stat in {};
  if (!protect.empty() && ::stat(protect.c_str(), &in) == 0 && in.st_dev == st.st_dev &&
      in.st_ino == st.st_ino)
    throw input_error(option, target_in + " is the input archive" + keep);
  if (is_hdf5(target, st.st_size)) throw input_error(option, target_in + " is an HDF5 file" + keep);
  if (kind == OutputKind::image && !is_image(target))
    throw input_error(option, target_in + " exists and is not a PNG, PDF or SVG image" + keep);
}

PendingFile::PendingFile(const std::string& target, OutputKind kind, std::string protect,
                         std::string option)
    : target_(resolve(target, option)),
      protect_(std::move(protect)),
      option_(std::move(option)),
      kind_(kind) {
  check_replaceable(target_, kind_, protect_, option_);
  const fs::path t(target_);
  const std::string ext = t.extension().string();
  const fs::path dir = t.parent_path().empty() ? fs::path(".") : t.parent_path();
  std::string tmpl = (dir / ("." + t.stem().string() + ".tmp-XXXXXX" + ext)).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const int fd = ::mkostemps(buf.data(), static_cast<int>(ext.size()), O_CLOEXEC);
  if (fd < 0) throw error("cannot write in " + dir.string() + ": " + std::strerror(errno));
  // mkstemp creates 0600; the finished file gets the permissions any new file would.
  ::fchmod(fd, 0666 & ~current_umask());
  ::close(fd);
  temp_ = buf.data();
}

PendingFile::~PendingFile() {
  if (!committed_) ::unlink(temp_.c_str());
}

void PendingFile::commit() {
  check_replaceable(target_, kind_, protect_, option_);
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    throw error("cannot move the new file into place as " + target_ + ": " + std::strerror(errno));
  committed_ = true;
}

void write_text_file(const std::string& target, const std::string& content,
                     const std::string& protect, const std::string& option) {
  PendingFile f(target, OutputKind::text, protect, option);
  std::FILE* out = std::fopen(f.path().c_str(), "wb");
  if (!out) throw error("cannot write " + target + ": " + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), out) == content.size();
  if (std::fclose(out) != 0 || !ok)
    throw error("cannot write " + target + ": " + std::strerror(errno));
  f.commit();
}

}  // namespace mpisweep::cli
