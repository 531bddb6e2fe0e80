#pragma once
// Files the browse commands write (figures, report pages, tables) never destroy anything else:
// each is written to a temporary file beside its target and renamed into place, and an existing
// target is replaced only when it is what we could have written ourselves (issue 11, item 2).
#include <string>

namespace mpisweep::cli {

enum class ImageFormat { png, pdf, svg };

// The format named by `path`'s extension (.png, .pdf, .svg, any case); input_error(option, ...)
// for any other extension.
ImageFormat image_format(const std::string& path, const std::string& option);

// What may be replaced: an image is a file that starts with a PNG, PDF or SVG signature; a text
// (report.md, summary.csv) is any regular file that is not an HDF5 file.
enum class OutputKind { image, text };

// Throws input_error(option, ...) unless `target` is absent, or is a regular file of `kind` that
// is not `protect` (the input archive; compared by device and inode, so other names of it count).
// Directories, HDF5 files, devices and FIFOs are never replaced.
void check_replaceable(const std::string& target, OutputKind kind, const std::string& protect,
                       const std::string& option);

// A temporary file in `target`'s folder (a symbolic link's final target: the link stays), with
// the target's extension; commit() checks the target again (a run may have created it meanwhile)
// and renames the temporary file over it. Uncommitted temporary files are removed.
class PendingFile {
 public:
  PendingFile(const std::string& target, OutputKind kind, std::string protect, std::string option);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::string& path() const { return temp_; }  // where to write
  void commit();

 private:
  std::string target_, temp_, protect_, option_;
  OutputKind kind_;
  bool committed_ = false;
};

// Writes `content` to `target` through a PendingFile.
void write_text_file(const std::string& target, const std::string& content,
                     const std::string& protect, const std::string& option);

}  // namespace mpisweep::cli
