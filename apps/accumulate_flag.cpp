#include "apps/accumulate_flag.hpp"

#include <CLI/CLI.hpp>

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
         "how the kernel accumulates: lop3 (AND/XOR, every backend) or mma (tensor cores; the\n"
         "matrix is stored bit-sliced at load; CUDA GPUs of compute capability 8.0+;\n"
         "no graph replay, no kokkos_kernels_gemm)")
      ->type_name("lop3|mma")
      ->default_str(to_string(Accumulate::Lop3))
      ->check(known);
}

}  // namespace pagequery::apps
