#pragma once
// Opening an archive to write it again, whatever state the last writer left it in (SWMR
// recovery): a killed writer's status flags are cleared in the same open.
#include "h5.hpp"

#include <string>

namespace mpisweep::archive {

// Opens `path` read-write in SWMR-write mode. Everything happens in SWMR-write mode, flags
// cleared in the same open: a plain read-write open would mark the file "open for write, not
// SWMR", and a kill in that window would leave a file that SWMR readers refuse until h5clear.
// Opened through the fail-stop driver, whose record is `io`. Throws input_error for a foreign or
// corrupt file, archive_error otherwise (with the user's words for a read-only file system).
h5::File open_for_writing(const std::string& path, h5::IoStatus& io);

// Opens `path` read-only without changing a byte of it: SWMR-read (which also opens a killed
// writer's file), else plain read-only (a file written without SWMR). For checks that must
// come before open_for_writing, which clears a killed writer's flags.
h5::File open_for_reading(const std::string& path);

}  // namespace mpisweep::archive
