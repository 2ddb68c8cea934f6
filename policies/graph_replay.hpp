#pragma once
// The seed's cuda_graph_replay: the plan's launch sequence captured once as a
// Kokkos Graph and replayed while the batch shape and buffers are unchanged;
// rebuilt when they change. Contents may change between replays.
//
// The portable kernel joins the graph as Kokkos nodes. The tensor-core kernel is
// raw CUDA, so on a bit-sliced matrix the launches are captured natively from
// the instance's stream and the captured graph is wrapped as a Kokkos Graph
// (create_graph_from_native): both replay through the same Graph::submit.
#include "pagequery/policies/policy.hpp"

#include <Kokkos_Graph.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace pagequery {

// What create_graph builds on: an execution space instance up to Kokkos 4.x, a
// device handle in Kokkos 5 (5.2.2 has it). The change (kokkos/kokkos#8191) is in
// no CHANGELOG entry, so no release number is known to test: the header that
// brought get_device_handle decides.
template <class ExecSpace>
auto graph_device(const ExecSpace& exec) {
#if __has_include(<impl/Kokkos_DeviceHandle.hpp>)
  return Kokkos::Experimental::get_device_handle(exec);
#else
  return exec;
#endif
}

namespace Details {

#ifdef KOKKOS_ENABLE_CUDA
// A captured CUDA graph. Kokkos's Graph built from it does not own it, so it
// must outlive that Graph.
class NativeCudaGraph {
 public:
  NativeCudaGraph() = default;
  // Captures what `enqueue` queues on `stream` (Kokkos and raw CUDA launches alike).
  template <class Enqueue>
  NativeCudaGraph(cudaStream_t stream, Enqueue&& enqueue) {
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "begin capture");
    try {
      enqueue();
    } catch (...) {
      cudaStreamEndCapture(stream, &graph_);  // ends the capture; the partial graph is dropped
      reset();
      throw;
    }
    check(cudaStreamEndCapture(stream, &graph_), "end capture");
  }
  ~NativeCudaGraph() { reset(); }
  NativeCudaGraph(NativeCudaGraph&& o) noexcept : graph_(std::exchange(o.graph_, nullptr)) {}
  NativeCudaGraph& operator=(NativeCudaGraph&& o) noexcept {
    if (this != &o) {
      reset();
      graph_ = std::exchange(o.graph_, nullptr);
    }
    return *this;
  }
  cudaGraph_t get() const { return graph_; }

 private:
  static void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess)
      throw std::runtime_error(std::string("graph replay: ") + what + ": " + cudaGetErrorString(status));
  }
  void reset() {
    if (graph_ != nullptr) cudaGraphDestroy(graph_);
    graph_ = nullptr;
  }
  cudaGraph_t graph_ = nullptr;
};
#endif

}  // namespace Details

template <class ExecSpace>
class GraphReplay : public BatchPolicy<ExecSpace> {
 public:
  using typename BatchPolicy<ExecSpace>::memory_space;

  explicit GraphReplay(PolicyConfig config) : config_(config) { config_.graph = true; }
  std::string name() const override { return strategy_name(config_); }
  std::vector<Launch> plan(int queries) const override { return plan_batch(config_, queries); }

  void run(const ExecSpace& exec, const PageMatrix<memory_space>& matrix, KeyBatch<memory_space> keys,
           AnswerView<memory_space> answers) override {
    const Shape shape{keys.format(), keys.size(), keys.data(), answers.data(), matrix.view().data(), matrix.pages()};
    if (graph_ && shape == shape_) {
      graph_->submit(exec);
      return;
    }
    const std::vector<Launch> launches = plan(this->query_count(keys));
    graph_.reset();
    if (matrix.layout() == PageLayout::BitSliced) {
      // This call runs eagerly: that also does the one-time setup (Kokkos's lock
      // arrays, kernel attributes) that would break a capture; the capture only
      // records the same launches for the replays.
      for (const Launch& l : launches) this->launch_of(exec, matrix, keys, answers, l).launch(exec);
      graph_ = captured(exec, matrix, keys, answers, launches);
    } else {
      graph_ = Kokkos::Experimental::create_graph(graph_device(exec), [&](const auto& root) {
        Kokkos::Experimental::GraphNodeRef<ExecSpace> node = root;
        for (const Launch& l : launches) node = this->launch_of(exec, matrix, keys, answers, l).then(node);
      });
    }
    graph_->instantiate();
    shape_ = shape;
    ++builds_;
    if (matrix.layout() == PageLayout::Vectors) graph_->submit(exec);
  }

  // How often the graph was (re)built: tests check replays don't rebuild it.
  int builds() const { return builds_; }

 private:
  using Shape = std::tuple<DpfFormat, std::size_t, const void*, const void*, const void*, std::uint64_t>;
  using Graph = Kokkos::Experimental::Graph<ExecSpace>;

  // The launches as they run eagerly, captured from the instance's stream.
  Graph captured([[maybe_unused]] const ExecSpace& exec, [[maybe_unused]] const PageMatrix<memory_space>& matrix,
                 [[maybe_unused]] const KeyBatch<memory_space>& keys,
                 [[maybe_unused]] const AnswerView<memory_space>& answers,
                 [[maybe_unused]] const std::vector<Launch>& launches) {
#ifdef KOKKOS_ENABLE_CUDA
    if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
      native_ = Details::NativeCudaGraph(exec.cuda_stream(), [&] {
        for (const Launch& l : launches) this->launch_of(exec, matrix, keys, answers, l).launch(exec);
      });
      return Kokkos::Experimental::create_graph_from_native(exec, native_.get());
    }
#endif
    throw ConfigError("graph replay: a bit-sliced matrix runs on CUDA only");
  }

  PolicyConfig config_;
#ifdef KOKKOS_ENABLE_CUDA
  Details::NativeCudaGraph native_;  // declared before graph_: it outlives the Graph that wraps it
#endif
  std::optional<Graph> graph_;
  Shape shape_{};
  int builds_ = 0;
};

}  // namespace pagequery
