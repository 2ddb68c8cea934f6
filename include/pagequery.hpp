#pragma once
// pagequery's host API in one include (target pagequery::policies): the Kokkos
// runtime and the Engine that answers batches of DPF keys over a page matrix,
// both key formats with their generation and bytes, and the batching policies.
// Plain C++: a translation unit that includes only this needs no device compiler.
// The Kokkos-level pieces (core/page_matrix.hpp, core/page_query.hpp) are
// included by their own paths.
#include "pagequery/core/dpf.hpp"
#include "pagequery/core/dpf_packed.hpp"
#include "pagequery/core/matrix_shape.hpp"
#include "pagequery/policies/engine.hpp"
#include "pagequery/policies/policy_config.hpp"
