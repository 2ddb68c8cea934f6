#pragma once
// Morphogen's batch request (POST /query/page/gpu/batch) as `answer` reads it:
// {"queries":[{"keys":["0x..","0x..","0x.."]}, ...]}, strict JSON
// (service/wire/json_strict.hpp); unknown fields are ignored, as serde does.
#include "service/key_list.hpp"

#include <cstdint>
#include <string>

namespace pagequery::service {

// The keys of a batch request, 3 per query, in order, all of one format; every
// key is checked against the domain of the matrix `matrix` of `pages` pages
// (KeyList::add). Anything else is refused (InputError, one line naming the
// place: "request: queries[1].keys[2]: ...").
KeyList parse_request(const std::string& text, const std::string& matrix, std::uint64_t pages);

}  // namespace pagequery::service
