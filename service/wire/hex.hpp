#pragma once
// The hex strings of Morphogen's JSON wire format (keys in requests, pages in
// responses). Malformed hex is a FormatError (service/text.hpp).
#include "service/text.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pagequery::service {

// "0x" followed by two lower-case hex digits per byte (what Morphogen writes).
std::string to_hex(std::span<const std::uint8_t> bytes);

// Decodes hex with or without a leading "0x"/"0X" (Morphogen writes the prefix,
// hand-made requests often omit it); digits may be upper or lower case. Refuses
// an odd number of digits, any non-hex character (whitespace included), and a
// doubled prefix. "0x" alone and "" decode to zero bytes.
std::vector<std::uint8_t> from_hex(std::string_view text);

}  // namespace pagequery::service
