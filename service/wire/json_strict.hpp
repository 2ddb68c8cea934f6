#pragma once
// JSON as strictly as Morphogen's serde_json reads it. nlohmann's parser is more
// lenient: it stops at a NUL byte (so whatever follows is ignored) and keeps the
// last of duplicate keys. Both are refused here.
#include <nlohmann/json.hpp>

#include <string_view>

namespace pagequery::service {

// The parsed value; throws FormatError (service/wire/hex.hpp) for invalid JSON, a NUL byte,
// or a key that appears twice in one object. The message says what and where
// (byte offset or key), not which input it was.
nlohmann::json parse_strict_json(std::string_view text);

}  // namespace pagequery::service
