# Spack recipe for pagequery: the page-query scan of 2-server DPF PIR on Kokkos.
from spack_repo.builtin.build_systems.cmake import CMakePackage
from spack_repo.builtin.build_systems.cuda import CudaPackage

from spack.package import *


class Pagequery(CMakePackage, CudaPackage):
    """Morphogen-compatible page-query scan (DPF PIR) with batching policies,
    a Slurm-ready sweep writing HDF5, and a report."""

    homepage = "https://github.com/pagequery/pagequery"
    git = "https://github.com/pagequery/pagequery.git"

    maintainers("pagequery")
    license("UNKNOWN")

    # The environments in this repository build the checkout that holds them
    # (a develop spec with a path); elsewhere `main` is cloned from `git`.
    version("main", branch="main")

    variant("mpi", default=False, description="Shard the page matrix across MPI ranks")
    variant(
        "kokkos_kernels",
        default=True,
        description="The kokkos_kernels_gemm strategy (KokkosBlas::gemm over the (XOR, AND) ring)",
    )

    depends_on("c", type="build")  # FindHDF5 and MPI's C side
    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")

    # CUDA 13 needs Kokkos 4.7.01 or newer (Spack's kokkos recipe refuses older
    # ones with it); host builds take 4.6.01 or newer.
    depends_on("kokkos@4.6.01: cxxstd=20 +serial")
    depends_on("kokkos +cuda +wrapper +cuda_lambda", when="+cuda")
    for arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos cuda_arch={arch}", when=f"+cuda cuda_arch={arch}")
    depends_on("kokkos +openmp", when="~cuda")
    depends_on("kokkos-kernels@4.6.01:", when="+kokkos_kernels")
    depends_on("cli11@2.1:")
    depends_on("nlohmann-json@3.11:")
    depends_on("hdf5 +cxx")
    depends_on("xxhash")
    depends_on("mpi", when="+mpi")
    depends_on("googletest", type="test")
    depends_on("python", type=("run", "test"))
    depends_on("py-h5py", type=("run", "test"))
    depends_on("py-matplotlib", type="run")

    def cmake_args(self):
        args = [
            self.define("Kokkos_ROOT", self.spec["kokkos"].prefix),
            self.define("PAGEQUERY_ENABLE_TESTS", self.run_tests),
            self.define_from_variant("PAGEQUERY_ENABLE_MPI", "mpi"),
            self.define_from_variant("PAGEQUERY_ENABLE_KOKKOS_KERNELS", "kokkos_kernels"),
            # Dependencies come from Spack: never fetch them.
            self.define("FETCHCONTENT_FULLY_DISCONNECTED", True),
        ]
        if self.spec.satisfies("+kokkos_kernels"):
            args.append(self.define("KokkosKernels_ROOT", self.spec["kokkos-kernels"].prefix))
        if self.spec.satisfies("+cuda"):
            # Kokkos from Spack compiles CUDA through its nvcc wrapper.
            args.append(self.define("CMAKE_CXX_COMPILER", self.spec["kokkos"].package.kokkos_cxx))
        return args

    def check(self):
        with working_dir(self.build_directory):
            ctest("--output-on-failure", "-E", "^(mpi|slurm)\\.")
