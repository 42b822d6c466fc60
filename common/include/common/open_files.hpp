// The open-file limit: every connection is a descriptor, so a run at concurrency 10,000 needs the
// hard limit, not the usual soft 1,024. Children (the Python references) inherit it.
#pragma once

#include <cstdint>

namespace iobench {

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit (0 if unknown).
std::uint64_t raise_open_file_limit();

}  // namespace iobench
