# Shared by hack/run and hack/test: Debian packages and the build.
# Sourced; expects ROOT set to the repository.

# What cribd needs to build, and to run containers and pod networks.
BUILD_PKGS="cmake make gcc pkg-config git libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
  libjson-c-dev libseccomp-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libarchive-dev
  libisal-dev libzstd-dev zlib1g-dev"
# runsc: gVisor, the RuntimeClass handler "runsc" (oci/gvisor.c); criu: CheckpointContainer under runc.
RUN_PKGS="runc runsc criu conmon containernetworking-plugins iproute2 iptables"
# What the tests need on top: the independent CRI client and the format check.
TEST_PKGS="python3-grpcio python3-grpc-tools python3-pytest python3-pytest-timeout clang-format
  docker-registry openssl
  apache2-utils zstd busybox-static"

say() { printf '==> %s\n' "$*"; }

# Installs the packages that are missing; apt-get update only when needed.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { echo "need root to install: ${missing[*]}" >&2; return 1; }
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [cmake args...]: configures once, then builds incrementally.
build() {
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" "$@" >/dev/null
  make -C "$dir" -j"$(nproc)" --no-print-directory -s >/dev/null
}
