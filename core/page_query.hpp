#pragma once
// The page-query kernel: for K DPF keys, answer_k = XOR over pages i of
// (page_i AND mask_k(i)), every 16-byte vector of the page masked alike.
//
// One front, two implementations (impl/): the portable Kokkos kernel for pages
// stored as vectors (every backend, both key formats, Kokkos graphs too) and
// the tensor-core kernel for bit-sliced matrices (CUDA sm_80+, both key
// formats, eager launches only). Policies hold a PageQuery and never see which.
#include "pagequery/core/impl/page_query_portable.hpp"
#include "pagequery/core/impl/page_query_tensor_cores.hpp"
#include "pagequery/core/page_query_args.hpp"

#include <Kokkos_Core.hpp>
#include <Kokkos_Graph.hpp>
#include <Kokkos_Profiling_ScopedRegion.hpp>

#include <stdexcept>
#include <variant>

namespace pagequery {

namespace impl {
template <class ExecSpace>
struct ZeroAnswers {
  AnswerView<typename ExecSpace::memory_space> answers;
  KOKKOS_FUNCTION void operator()(std::int64_t i) const {
    answers(i / kVectorsPerPage, i % kVectorsPerPage) = Bits128{{0, 0, 0, 0}};
  }
};
}  // namespace impl

// One launch: zero the answers, then scan. Policies run it eagerly on an
// instance or add it to a Kokkos Graph (portable kernel only).
template <class ExecSpace>
class PageQuery {
 public:
  using memory_space = typename ExecSpace::memory_space;

  PageQuery(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
            AnswerView<memory_space> answers, const PageQueryTuning& tuning = {})
      : answers_(checked(answers, keys)), impl_(make(exec, matrix, keys, answers, tuning)) {}

  void launch(const ExecSpace& exec) const {
    Kokkos::Profiling::ScopedRegion region("pagequery::page_query");
    Kokkos::parallel_for("pagequery::zero_answers", zero_policy(exec), impl::ZeroAnswers<ExecSpace>{answers_});
    std::visit([&](const auto& q) { q.launch(exec); }, impl_);
  }

  // Appends this launch to a graph node; returns the last node.
  template <class Node>
  Kokkos::Experimental::GraphNodeRef<ExecSpace> then(const Node& node) const {
    const auto* portable = std::get_if<impl::PortablePageQuery<ExecSpace>>(&impl_);
    if (portable == nullptr)
      throw std::invalid_argument("page query: the tensor-core kernel cannot join a Kokkos graph");
    return portable->then(node.then_parallel_for("pagequery::zero_answers", zero_policy(ExecSpace()),
                                                 impl::ZeroAnswers<ExecSpace>{answers_}));
  }

 private:
  using Impl = std::variant<impl::PortablePageQuery<ExecSpace>, impl::TensorCorePageQuery<ExecSpace>>;

  static const AnswerView<memory_space>& checked(const AnswerView<memory_space>& answers,
                                                 const KeyBatch<memory_space>& keys) {
    if (answers.extent(0) != keys.size() || answers.extent(1) != kVectorsPerPage)
      throw std::invalid_argument("page query: answers must be (keys x 256) vectors");
    return answers;
  }

  static Impl make(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, const KeyBatch<memory_space>& keys,
                   const AnswerView<memory_space>& answers, const PageQueryTuning& tuning) {
    if (matrix.layout() == PageLayout::BitSliced)
      return Impl(std::in_place_index<1>, exec, matrix, keys, answers, tuning);
    return Impl(std::in_place_index<0>, exec, matrix, keys, answers, tuning);
  }

  Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>> zero_policy(const ExecSpace& exec) const {
    return {exec, 0, static_cast<std::int64_t>(answers_.extent(0)) * kVectorsPerPage};
  }

  AnswerView<memory_space> answers_;
  Impl impl_;
};

// Answers every key in one launch on `exec`; asynchronous like any Kokkos launch.
// Precondition: every key has the matrix's domain bits (packed keys: its
// packed_domain_bits); the host API checks it.
template <class ExecSpace>
void answer_keys(const ExecSpace& exec, const PageMatrix<typename ExecSpace::memory_space>& matrix,
                 KeyBatch<typename ExecSpace::memory_space> keys, AnswerView<typename ExecSpace::memory_space> answers,
                 const PageQueryTuning& tuning = {}) {
  PageQuery<ExecSpace>(exec, matrix, keys, answers, tuning).launch(exec);
}

}  // namespace pagequery
