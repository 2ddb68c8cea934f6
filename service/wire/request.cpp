#include "service/wire/request.hpp"

#include "service/errors.hpp"
#include "service/wire/hex.hpp"
#include "service/wire/json_strict.hpp"

#include <nlohmann/json.hpp>

namespace pagequery::service {

namespace {

using json = nlohmann::json;

[[noreturn]] void refuse_size(std::size_t queries) {
  throw InputError("request: " + std::to_string(queries) + " queries; a batch holds 1.." +
                   std::to_string(max_batch_queries(DpfFormat::Morphogen)) + " queries of Morphogen keys or 1.." +
                   std::to_string(max_batch_queries(DpfFormat::Packed)) + " of packed keys");
}

// The "queries" array of the request.
const json& queries_of(const json& request) {
  if (!request.is_object())
    throw InputError(std::string("request: expected an object {\"queries\": [...]}, got ") + request.type_name());
  const auto queries = request.find("queries");
  if (queries == request.end()) throw InputError("request: the \"queries\" field is missing");
  if (!queries->is_array())
    throw InputError(std::string("request: \"queries\" must be an array, got ") + queries->type_name());
  if (queries->empty() || queries->size() > static_cast<std::size_t>(max_batch_queries(DpfFormat::Packed)))
    refuse_size(queries->size());
  return *queries;
}

// Appends the 3 keys of queries[q] to `keys`.
void add_query(const json& query, std::size_t q, KeyList& keys, const std::string& matrix, std::uint64_t pages) {
  const std::string where = "request: queries[" + std::to_string(q) + "]";
  if (!query.is_object()) throw InputError(where + " must be an object {\"keys\": [...]}, got " + query.type_name());
  const auto list = query.find("keys");
  if (list == query.end()) throw InputError(where + ": the \"keys\" field is missing");
  if (!list->is_array()) throw InputError(where + ".keys must be an array, got " + list->type_name());
  if (list->size() != static_cast<std::size_t>(kKeysPerQuery))
    throw InputError(where + ".keys holds " + std::to_string(list->size()) + " keys; a query needs exactly " +
                     std::to_string(kKeysPerQuery));
  for (std::size_t k = 0; k < list->size(); ++k) {
    const json& item = (*list)[k];
    const std::string key_where = where + ".keys[" + std::to_string(k) + "]";
    if (!item.is_string()) throw InputError(key_where + " must be a hex string, got " + item.type_name());
    try {
      keys.add(from_hex(item.get_ref<const std::string&>()), pages, matrix);
    } catch (const std::invalid_argument& e) {  // FormatError, KeyError
      throw InputError(key_where + ": " + one_line(e.what()));
    }
  }
}

}  // namespace

KeyList parse_request(const std::string& text, const std::string& matrix, std::uint64_t pages) {
  json request;
  try {
    request = parse_strict_json(text);
  } catch (const FormatError& e) {
    throw InputError(std::string("request: invalid JSON: ") + e.what());
  }
  const json& queries = queries_of(request);
  KeyList keys;
  for (std::size_t q = 0; q < queries.size(); ++q) add_query(queries[q], q, keys, matrix, pages);
  if (queries.size() > static_cast<std::size_t>(max_batch_queries(keys.format))) refuse_size(queries.size());
  return keys;
}

}  // namespace pagequery::service
