#pragma once
// Host-side helpers of the raw-CUDA page-query kernels: error checks, a
// stream-ordered workspace and a launch with a dynamic shared-memory size.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pagequery::impl {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("mma page query: ") + what + ": " + cudaGetErrorString(status));
}

// A stream-ordered device buffer: it lives exactly as long as the queued work needs it.
class StreamBuffer {
 public:
  StreamBuffer(cudaStream_t stream, std::size_t bytes) : stream_(stream) {
    if (bytes > 0) check(cudaMallocAsync(&data_, bytes, stream), "team buffers");
  }
  ~StreamBuffer() {
    if (data_ != nullptr) cudaFreeAsync(data_, stream_);
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  template <class T>
  T* get() const {
    return static_cast<T*>(data_);
  }

 private:
  cudaStream_t stream_;
  void* data_ = nullptr;
};

// Raises the kernel's dynamic shared-memory limit to `shared` (above 48 KB a
// kernel must ask for it).
template <class Kernel>
void allow_shared(Kernel kernel, std::size_t shared) {
  if (shared > 0)
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)),
          "shared memory");
}

template <class Kernel>
void launch(cudaStream_t stream, Kernel kernel, std::uint64_t league, int threads, std::size_t shared,
            const auto& args) {
  allow_shared(kernel, shared);
  kernel<<<static_cast<unsigned>(league), threads, shared, stream>>>(args);
  check(cudaGetLastError(), "launch");
}

// Milliseconds the work `enqueue` queues on `stream` takes on the device
// (events around it; waits for it).
template <class Enqueue>
float elapsed_ms(cudaStream_t stream, const Enqueue& enqueue) {
  cudaEvent_t events[2];
  check(cudaEventCreate(&events[0]), "timing events");
  if (const cudaError_t e = cudaEventCreate(&events[1]); e != cudaSuccess) {
    cudaEventDestroy(events[0]);
    check(e, "timing events");
  }
  cudaEventRecord(events[0], stream);
  enqueue();
  cudaEventRecord(events[1], stream);
  cudaError_t status = cudaEventSynchronize(events[1]);
  float ms = 0;
  if (status == cudaSuccess) status = cudaEventElapsedTime(&ms, events[0], events[1]);
  cudaEventDestroy(events[0]);
  cudaEventDestroy(events[1]);
  check(status, "timed work");
  return ms;
}

// The m*n*k per second of a binary MMA probe: `probe(steps, sink)` on `blocks`
// blocks of `threads` (each step of a block doing `mnk_per_step`), timed after a
// warm-up launch.
template <class Probe>
double probe_rate(cudaStream_t stream, Probe probe, int blocks, int threads, double mnk_per_step) {
  constexpr int kSteps = 20000;
  const StreamBuffer sink(stream, threads * sizeof(std::uint32_t));
  probe<<<blocks, threads, 0, stream>>>(kSteps / 10, sink.get<std::uint32_t>());
  const float ms =
      elapsed_ms(stream, [&] { probe<<<blocks, threads, 0, stream>>>(kSteps, sink.get<std::uint32_t>()); });
  check(cudaGetLastError(), "binary MMA rate probe");
  return blocks * (kSteps * mnk_per_step) / (ms * 1e-3);
}

}  // namespace pagequery::impl
