# Spack recipe for pagequery: the page-query scan of 2-server DPF PIR on Kokkos.
from spack.package import *


class Pagequery(CMakePackage, CudaPackage):
    """Morphogen-compatible page-query scan (DPF PIR) with batching policies,
    a Slurm-ready sweep writing HDF5, and a report."""

    # Built from the checkout that holds this recipe: spack.yaml marks
    # pagequery@main as a develop spec with path "." (no download).
    version("main")

    variant("mpi", default=False, description="Shard the page matrix across MPI ranks")

    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("kokkos@4.6: cxxstd=20 +serial")
    depends_on("kokkos +cuda +wrapper +cuda_lambda", when="+cuda")
    for arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos cuda_arch={arch}", when=f"+cuda cuda_arch={arch}")
    depends_on("kokkos +openmp", when="~cuda")
    depends_on("cli11@2.1:")
    depends_on("nlohmann-json@3.11:")
    depends_on("hdf5 +cxx")
    depends_on("xxhash")
    depends_on("mpi", when="+mpi")
    depends_on("googletest", type="test")
    depends_on("python", type="run")
    depends_on("py-h5py", type="run")
    depends_on("py-matplotlib", type="run")

    def cmake_args(self):
        args = [
            self.define("Kokkos_ROOT", self.spec["kokkos"].prefix),
            self.define("PAGEQUERY_ENABLE_TESTS", self.run_tests),
            self.define_from_variant("PAGEQUERY_ENABLE_MPI", "mpi"),
        ]
        if self.spec.satisfies("+cuda"):
            # Kokkos from Spack compiles CUDA through its nvcc wrapper.
            args.append(self.define("CMAKE_CXX_COMPILER", self.spec["kokkos"].kokkos_cxx))
        return args
