#pragma once
// pagequery's host API in one include (target pagequery::policies): the Kokkos
// runtime and the Engine that answers batches of DPF keys over a page matrix,
// both key formats with their generation and bytes, and the batching policies.
// Plain C++: a translation unit that includes only this needs no device compiler.
// The Kokkos-level pieces (core/page_matrix.hpp, core/page_query.hpp) are
// included by their own paths.
#include "core/dpf.hpp"
#include "core/dpf_packed.hpp"
#include "core/matrix_shape.hpp"
#include "policies/engine.hpp"
#include "policies/policy_config.hpp"
