// Runtime::device_facts(): what a GPU timing depends on beyond the GPU's name.
// Peak figures come from the CUDA runtime; the clocks of the moment and the
// reasons they are held down come from NVML, loaded at run time (the driver's
// libnvidia-ml.so.1), so that pagequery neither links NVML nor needs its header.
#include "pagequery/policies/engine.hpp"

#include <Kokkos_Core.hpp>

#ifdef KOKKOS_ENABLE_CUDA
#include <dlfcn.h>
#endif

namespace pagequery {

#ifdef KOKKOS_ENABLE_CUDA
namespace {

std::string cuda_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// The few NVML entry points used, by their documented C signatures (nvml.h):
// every one returns nvmlReturn_t, 0 on success; a device is an opaque handle.
class Nvml {
 public:
  using Device = struct NvmlDevice*;
  Nvml() : lib_(dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)) {
    if (lib_ && call<int (*)()>("nvmlInit_v2") != 0) close();
  }
  ~Nvml() {
    if (!lib_) return;
    call<int (*)()>("nvmlShutdown");
    close();
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  template <class Fn, class... Args>
  int call(const char* name, Args... args) const {
    void* fn = lib_ ? dlsym(lib_, name) : nullptr;
    return fn ? reinterpret_cast<Fn>(fn)(args...) : -1;
  }
  bool loaded() const { return lib_ != nullptr; }

 private:
  void close() {
    dlclose(lib_);
    lib_ = nullptr;
  }
  void* lib_;
};

enum NvmlClock : int { kGraphics = 0, kSm = 1, kMemory = 2 };

void add_nvml_facts(Runtime::DeviceFacts& facts, const std::string& pci_bus_id) {
  const Nvml nvml;
  if (!nvml.loaded()) return;
  char driver[96] = {};
  if (nvml.call<int (*)(char*, unsigned)>("nvmlSystemGetDriverVersion", driver, unsigned(sizeof driver)) == 0)
    facts.texts.emplace_back("nvidia_driver", driver);
  Nvml::Device device = nullptr;
  if (nvml.call<int (*)(const char*, Nvml::Device*)>("nvmlDeviceGetHandleByPciBusId_v2", pci_bus_id.c_str(), &device) !=
      0)
    return;
  const auto clock = [&](auto& into, const char* fn, NvmlClock which, const char* name) {
    unsigned mhz = 0;
    if (nvml.call<int (*)(Nvml::Device, int, unsigned*)>(fn, device, which, &mhz) == 0) into.emplace_back(name, mhz);
  };
  clock(facts.numbers, "nvmlDeviceGetMaxClockInfo", kSm, "gpu_max_sm_clock_mhz");
  clock(facts.numbers, "nvmlDeviceGetApplicationsClock", kSm, "gpu_application_sm_clock_mhz");
  clock(facts.now, "nvmlDeviceGetClockInfo", kSm, "gpu_sm_clock_mhz");
  clock(facts.now, "nvmlDeviceGetClockInfo", kMemory, "gpu_memory_clock_mhz");
  unsigned long long reasons = 0;  // a bit mask: power cap, thermal, idle, ...
  if (nvml.call<int (*)(Nvml::Device, unsigned long long*)>("nvmlDeviceGetCurrentClocksEventReasons", device,
                                                            &reasons) == 0)
    facts.now.emplace_back("gpu_clock_event_reasons", static_cast<std::int64_t>(reasons));
}

}  // namespace
#endif

Runtime::DeviceFacts Runtime::device_facts() {
  DeviceFacts facts;
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<Kokkos::DefaultExecutionSpace, Kokkos::Cuda>) {
    const int id = Kokkos::Cuda().cuda_device();
    const auto attribute = [&](cudaDeviceAttr a, const char* name, std::int64_t scale = 1) {
      int v = 0;
      if (cudaDeviceGetAttribute(&v, a, id) == cudaSuccess) facts.numbers.emplace_back(name, v / scale);
    };
    int major = 0, minor = 0, driver = 0, runtime = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, id);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, id);
    facts.texts.emplace_back("gpu_compute_capability", std::to_string(major) + "." + std::to_string(minor));
    if (cudaDriverGetVersion(&driver) == cudaSuccess)
      facts.texts.emplace_back("cuda_driver_api", cuda_version_text(driver));
    if (cudaRuntimeGetVersion(&runtime) == cudaSuccess)
      facts.texts.emplace_back("cuda_runtime", cuda_version_text(runtime));
    attribute(cudaDevAttrMultiProcessorCount, "gpu_multiprocessors");
    attribute(cudaDevAttrL2CacheSize, "gpu_l2_bytes");
    attribute(cudaDevAttrGlobalMemoryBusWidth, "gpu_memory_bus_bits");
    attribute(cudaDevAttrClockRate, "gpu_peak_sm_clock_mhz", 1000);
    attribute(cudaDevAttrMemoryClockRate, "gpu_peak_memory_clock_mhz", 1000);
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
      facts.numbers.emplace_back("gpu_memory_bytes", static_cast<std::int64_t>(total_bytes));
    char bus[32] = {};
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, id) == cudaSuccess) add_nvml_facts(facts, bus);
  }
#endif
  return facts;
}

}  // namespace pagequery
