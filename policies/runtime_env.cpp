#include "pagequery/policies/runtime_env.hpp"

#include "pagequery/core/printable.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

namespace pagequery {

namespace {

std::vector<std::string>& warnings() {
  static std::vector<std::string> messages;
  return messages;
}

[[noreturn]] void refuse(const char* name, const std::string& value, const std::string& why) {
  throw ConfigError(std::string(name) + "=" + quote(value) + ": " + why);
}

// A whole decimal integer in [lo, hi] (no sign, no spaces), or nullopt.
std::optional<long long> decimal_in(std::string_view text, long long lo, long long hi) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 10);
  if (text.empty() || text.front() == '-' || ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    return std::nullopt;
  return v;
}

// Without leading and trailing blanks, as libgomp reads its numbers.
std::string_view trimmed(std::string_view t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return t;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// Kokkos's booleans: yes|true|1 or no|false|0, any case (check_env_bool).
void check_kokkos_bools(const EnvLookup& env) {
  for (const char* name : {"KOKKOS_DISABLE_WARNINGS", "KOKKOS_PRINT_CONFIGURATION", "KOKKOS_TUNE_INTERNALS"}) {
    const auto v = env(name);
    if (!v) continue;
    const std::string l = lower(*v);
    if (l != "yes" && l != "true" && l != "1" && l != "no" && l != "false" && l != "0")
      refuse(name, *v, "must be yes, true, 1, no, false or 0 (any case)");
  }
}

// libgomp keeps OMP_NUM_THREADS in an unsigned long and omp_get_max_threads()
// returns an int: 4294967297 reads as 1, 4294967296 as 0 (a crash). Its first
// item, read in 64 bits; nullopt when unset or not a number (libgomp warned).
std::optional<long long> omp_num_threads(const EnvLookup& env) {
  const auto v = env("OMP_NUM_THREADS");
  if (!v) return std::nullopt;
  const std::string_view first = trimmed(std::string_view(*v).substr(0, v->find(',')));
  unsigned long long n = 0;
  const auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), n, 10);
  if (first.empty() || ec != std::errc{} || end != first.data() + first.size()) return std::nullopt;
  return static_cast<long long>(std::min<unsigned long long>(n, LLONG_MAX));
}

// The host threads Kokkos will run, checked against its OpenMP thread table and
// the machine; libgomp's own count (OMP_NUM_THREADS) is started first either way.
int check_threads(const RuntimeLimits& l, const EnvLookup& env) {
  const auto kokkos = env("KOKKOS_NUM_THREADS");
  if (!l.openmp) {
    if (kokkos && !decimal_in(*kokkos, 1, INT_MAX)) refuse("KOKKOS_NUM_THREADS", *kokkos, "must be an integer >= 1");
    return 1;
  }
  const long long most = std::min<long long>(l.thread_table, static_cast<long long>(kMaxThreadsPerCpu) * l.cpus);
  const std::string range = "1.." + std::to_string(most) + " (Kokkos's OpenMP backend holds at most " +
                            std::to_string(l.thread_table) + " threads; this process may run on " +
                            std::to_string(l.cpus) + " CPUs, at most " + std::to_string(kMaxThreadsPerCpu) +
                            " threads each)";
  const long long started = omp_num_threads(env).value_or(l.openmp_threads);
  if (started > most) {
    if (const auto omp = env("OMP_NUM_THREADS"))
      refuse("OMP_NUM_THREADS", *omp, "starts " + std::to_string(started) + " threads; allowed: " + range);
    throw ConfigError("OpenMP would start one thread per CPU, " + std::to_string(l.openmp_threads) +
                      "; set OMP_NUM_THREADS in " + range);
  }
  if (!kokkos) return std::min(l.openmp_threads, l.openmp_thread_limit);
  const auto n = decimal_in(*kokkos, 1, most);
  if (!n) refuse("KOKKOS_NUM_THREADS", *kokkos, "must be an integer in " + range);
  if (*n > l.openmp_thread_limit)
    refuse("KOKKOS_NUM_THREADS", *kokkos,
           "exceeds OMP_THREAD_LIMIT (" + std::to_string(l.openmp_thread_limit) + "): OpenMP would run fewer");
  return static_cast<int>(*n);
}

// libgomp's stack size: a number and an optional unit B, K, M or G (default K).
std::optional<std::uint64_t> stack_bytes(std::string_view text) {
  text = trimmed(text);
  int shift = 10;
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back()))) {
    const std::string_view units = "bkmg";
    const auto unit = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text.back()))));
    if (unit == std::string_view::npos) return std::nullopt;
    shift = 10 * static_cast<int>(unit);
    text = trimmed(text.substr(0, text.size() - 1));
  }
  const auto n = decimal_in(text, 0, LLONG_MAX >> shift);
  if (!n) return std::nullopt;
  return static_cast<std::uint64_t>(*n) << shift;
}

// Every OpenMP thread reserves its stack up front; libgomp exits when it cannot.
void check_stack(const RuntimeLimits& l, const EnvLookup& env, int threads) {
  for (const char* name : {"OMP_STACKSIZE", "GOMP_STACKSIZE"}) {
    const auto v = env(name);
    const auto bytes = v ? stack_bytes(*v) : std::nullopt;
    if (!bytes) continue;  // unset, or rejected by libgomp (refused above)
    if (*bytes > l.host_memory / static_cast<std::uint64_t>(threads))
      refuse(name, *v,
             std::to_string(threads) + " threads of " + std::to_string(*bytes) + " bytes need more than the " +
                 std::to_string(l.host_memory) + " bytes of memory available");
    return;  // libgomp takes the first one set
  }
}

// Device ids against the GPUs present (device builds; host builds ignore them).
void check_devices(const RuntimeLimits& l, const EnvLookup& env) {
  const auto id = env("KOKKOS_DEVICE_ID");
  const auto map = env("KOKKOS_MAP_DEVICE_ID_BY");
  if (map && *map != "mpi_rank" && *map != "random")
    refuse("KOKKOS_MAP_DEVICE_ID_BY", *map, "must be mpi_rank or random");
  if (map && id) refuse("KOKKOS_MAP_DEVICE_ID_BY", *map, "and KOKKOS_DEVICE_ID are both set (Kokkos would ignore it)");
  if (id && !decimal_in(*id, 0, INT_MAX)) refuse("KOKKOS_DEVICE_ID", *id, "must be an integer >= 0");
  if (!l.gpus) return;
  long long visible = *l.gpus;
  if (const auto list = env("KOKKOS_VISIBLE_DEVICES")) {
    visible = 0;
    std::string_view rest(*list);
    for (;;) {
      const std::string_view item = rest.substr(0, rest.find(','));
      if (!decimal_in(item, 0, *l.gpus - 1))
        refuse("KOKKOS_VISIBLE_DEVICES", *list,
               "must list device ids in 0.." + std::to_string(*l.gpus - 1) + ", separated by commas");
      ++visible;
      if (item.size() == rest.size()) break;
      rest.remove_prefix(item.size() + 1);
    }
  }
  if (visible == 0) throw ConfigError("this build runs on a GPU and none is visible (CUDA_VISIBLE_DEVICES?)");
  if (id && !decimal_in(*id, 0, visible - 1))
    refuse("KOKKOS_DEVICE_ID", *id,
           "there are " + std::to_string(visible) + " visible GPUs (ids 0.." + std::to_string(visible - 1) + ")");
}

// Kokkos loads the first library of KOKKOS_TOOLS_LIBS (or the deprecated
// KOKKOS_PROFILE_LIBRARY) and only warns when it cannot; loading it here first
// makes that a refusal (the handle stays open: Kokkos's load reuses it).
void check_tools(const RuntimeLimits& l, const EnvLookup& env) {
  const auto tools = env("KOKKOS_TOOLS_LIBS");
  const auto profile = env("KOKKOS_PROFILE_LIBRARY");
  if (tools && profile && *tools != *profile)
    refuse("KOKKOS_TOOLS_LIBS", *tools, "differs from KOKKOS_PROFILE_LIBRARY=" + quote(*profile));
  const auto& libs = tools ? tools : profile;
  if (!libs || libs->empty()) return;
  if (!l.tools)
    refuse(tools ? "KOKKOS_TOOLS_LIBS" : "KOKKOS_PROFILE_LIBRARY", *libs,
           "this Kokkos was built without tools support (it would ignore the variable)");
  const std::string first = libs->substr(0, libs->find(';'));
  if (!dlopen(first.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    const char* why = dlerror();
    refuse(tools ? "KOKKOS_TOOLS_LIBS" : "KOKKOS_PROFILE_LIBRARY", *libs,
           "cannot load " + quote(first) + ": " + (why ? why : "dlopen failed"));
  }
}

// Kokkos reads the node-local MPI rank and size with std::stoi (the first variable
// of each list that is set); anything but an integer throws from inside it.
void check_launcher_vars(const EnvLookup& env) {
  for (const auto& names : {std::vector<const char*>{"OMPI_COMM_WORLD_LOCAL_SIZE", "MV2_COMM_WORLD_LOCAL_SIZE",
                                                     "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"},
                            std::vector<const char*>{"OMPI_COMM_WORLD_LOCAL_RANK", "MV2_COMM_WORLD_LOCAL_RANK",
                                                     "MPI_LOCALRANKID", "SLURM_LOCALID", "PMI_LOCAL_RANK"}})
    for (const char* name : names)
      if (const auto v = env(name)) {
        if (!decimal_in(*v, 0, INT_MAX)) refuse(name, *v, "must be an integer >= 0 (a launcher sets it)");
        break;
      }
}

// The variable a libgomp warning is about: named in it, else known by its wording.
std::optional<std::string> variable_of(const std::string& message, const EnvLookup& env) {
  for (std::size_t at = message.find("OMP_"); at != std::string::npos; at = message.find("OMP_", at + 1)) {
    const std::size_t start = at > 0 && message[at - 1] == 'G' ? at - 1 : at;
    if (start > 0 && message[start - 1] != ' ') continue;
    return message.substr(start, message.find_first_of(" :,=", start) - start);  // newer libgomp: NAME=value
  }
  if (message.starts_with("Stack size"))
    for (const char* name : {"OMP_STACKSIZE", "GOMP_STACKSIZE"})
      if (env(name)) return name;
  const std::string l = lower(message);
  if (l.find("place") != std::string::npos || l.find("cpu") != std::string::npos)
    for (const char* name : {"OMP_PLACES", "GOMP_CPU_AFFINITY"})
      if (env(name)) return name;
  return std::nullopt;
}

// What libgomp warned about is refused: it ran without the value.
void check_openmp_warnings(const EnvLookup& env) {
  if (warnings().empty()) return;
  const std::string& message = warnings().front();
  if (const auto name = variable_of(message, env))
    refuse(name->c_str(), env(name->c_str()).value_or(""), "not a valid OpenMP setting (libgomp: " + message + ")");
  throw ConfigError("libgomp refused the OpenMP environment: " + message);
}

}  // namespace

void note_openmp_warning(std::string message) { warnings().push_back(std::move(message)); }
const std::vector<std::string>& openmp_warnings() { return warnings(); }

int check_runtime_env(const RuntimeLimits& limits, const EnvLookup& env) {
  check_openmp_warnings(env);
  check_kokkos_bools(env);
  const int threads = check_threads(limits, env);
  if (limits.openmp) check_stack(limits, env, std::max(threads, limits.openmp_threads));
  check_devices(limits, env);
  check_tools(limits, env);
  check_launcher_vars(env);
  return threads;
}

}  // namespace pagequery
