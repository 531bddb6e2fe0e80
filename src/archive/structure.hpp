#pragma once
// The structure of an archive: every group, dataset and attribute, created before SWMR starts
// (HDF5 1.10 forbids new objects afterwards), and the check that an existing archive has the
// same structure as a sweep's layout.
#include "columns.hpp"

#include <string>

namespace mpisweep::archive {

// What a compacted copy keeps from the original file instead of the defaults.
struct Origin {
  std::string created, mpisweep_version;
};

// Builds every group, dataset and attribute of a new archive from `store`'s layout (choice
// columns as wide as the store's).
void create_structure(hid_t file, const Layout& layout, const RowStore& store,
                      const Origin* origin = nullptr);

// Checks that an existing archive belongs to the same sweep and has the same columns; throws
// input_error naming `path` and the difference.
void validate(hid_t file, const std::string& path, const Layout& layout);

// Checks the tables of an existing archive against hand edits and corruption (issue 11): every
// /tasks column and series offset/length holds as many rows as /tasks/id, and every status is one
// of the four. A live or killed writer legitimately leaves columns longer than /tasks/id (it
// extends /tasks/id last), so `complete` (the last run ended and no writer is alive) asks for
// equal lengths, otherwise only for at least as many. Throws input_error naming `path` and the
// dataset.
void check_tables(hid_t file, const std::string& path, bool complete);

// True when the archive's last run ended (its /runs end is set), i.e. no writer was killed.
bool last_run_ended(hid_t file);

}  // namespace mpisweep::archive
