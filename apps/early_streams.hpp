#pragma once
// The standard streams from the executable's first instruction on
// (apps/early_streams.cpp): a closed descriptor is held by /dev/null so that no
// file opened later takes its number, and what shared libraries print while they
// load goes to stderr, never to stdout.
#include <string>

namespace pagequery::apps {

// Flushes stdout (C and C++ streams) and says why what was written to it did not
// arrive ("it is closed", "No space left on device"); "" when it all did.
std::string stdout_failure();

}  // namespace pagequery::apps
