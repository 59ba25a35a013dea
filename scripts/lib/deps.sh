# Sourced by scripts/test, scripts/demo and scripts/bench: installs with apt-get what a fresh
# Debian machine with only Rust (rustup) lacks for what the script is about to do. Each function
# installs only what is missing; nothing is installed twice.

apt_install() {  # apt_install PACKAGE... (does nothing without arguments)
  [ "$#" -eq 0 ] && return 0
  echo "installing with apt-get: $*" >&2
  # A mirror that drops a connection is asked again rather than failing the run.
  apt-get -o Acquire::Retries=3 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y -qq "$@" >/dev/null
}

# What building the workspace needs: a C toolchain; cmake and nasm for libjpeg-turbo (built from
# source by the turbojpeg crate, with its SIMD); pkg-config and OpenSSL's headers for SQLCipher;
# python3 for the helper scripts.
build_deps() {
  local missing=()
  for c in cc:gcc c++:g++ make:make cmake:cmake nasm:nasm pkg-config:pkg-config python3:python3; do
    command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c##*:}")
  done
  [ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
  apt_install "${missing[@]}"
}

# Java 17 and Maven, for the Kotlin bindings' tests and the boundary benchmark.
jvm_deps() {
  local missing=()
  command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  apt_install "${missing[@]}"
}

# Node.js and npm, for the browser tests and the relay benchmark's peer.
node_deps() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
}
