#include "apps/accumulate_flag.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace pagequery::apps {

void add_accumulate_flag(CLI::App* app, Accumulate& target) {
  const CLI::Validator known(
      [](std::string& value) {
        try {
          parse_accumulate(value);
          return std::string();
        } catch (const ConfigError& e) {
          return std::string(e.what());
        }
      },
      "");
  app->add_option_function<std::string>(
         "--accumulate", [&target](const std::string& value) { target = parse_accumulate(value); },
         "how the kernel accumulates: lop3 (AND/XOR, every backend), mma (tensor cores; the\n"
         "matrix is stored bit-sliced at load; CUDA GPUs of compute capability 8.0+; no\n"
         "kokkos_kernels_gemm), or auto: mma where the GPU can, else lop3, and lop3\n"
         "whenever a policy or strategy asked for runs only with lop3 (nothing is refused or\n"
         "left out). The mode that ran is what sweep records (attribute accumulate)")
      ->type_name("lop3|mma|auto")
      ->default_str(to_string(Accumulate::Auto))
      ->check(known);
}

void add_tensor_kernel_flag(CLI::App* app, TensorKernel& target) {
  const std::map<std::string, TensorKernel> names{
      {"auto", TensorKernel::Auto}, {"mma_sync", TensorKernel::MmaSync}, {"wgmma", TensorKernel::Wgmma}};
  app->add_option("--tensor-kernel", target,
                  "the tensor-core kernel of packed keys under mma: mma_sync (compute capability\n"
                  "8.0+), wgmma (Hopper, compute capability 9.0), or auto: wgmma where it runs.\n"
                  "The kernel that ran is what sweep records (attribute packed_kernel)")
      ->type_name("auto|mma_sync|wgmma")
      ->default_str(to_string(TensorKernel::Auto))
      ->transform(CLI::CheckedTransformer(names));
}

}  // namespace pagequery::apps
