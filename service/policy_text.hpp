#pragma once
// A batching policy as one line of text: what `answer`'s ranks compare, and what a
// sweep records and prints for each strategy.
#include "pagequery/policies/policy_config.hpp"

#include <string>

namespace pagequery::service {

// "policy=latency streams=1 graph=0 tile=16 threshold=4"
std::string describe(const PolicyConfig& config);

}  // namespace pagequery::service
