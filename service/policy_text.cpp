#include "service/policy_text.hpp"

namespace pagequery::service {

std::string describe(const PolicyConfig& c) {
  return "policy=" + to_string(c.mode) + " streams=" + std::to_string(c.streams) + " graph=" + (c.graph ? "1" : "0") +
         " tile=" + std::to_string(c.tile) + " threshold=" + std::to_string(c.threshold);
}

}  // namespace pagequery::service
