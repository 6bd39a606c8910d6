#!/usr/bin/env bash
# Builds the Rust reference splitter (tokref) offline in BUILD_DIR, outside the repo: fancy-regex 0.19.0 and
# regex-automata 0.4.16 / regex-syntax 0.8.11 (what tiktoken 0.14 depends on) from git checkouts, plus bit-set
# from Debian's packaged crates (apt-get install librust-fancy-regex-dev puts it in /usr/share/cargo/registry).
#
#   build.sh BUILD_DIR REGEX_GIT_DIR FANCY_REGEX_GIT_DIR   → BUILD_DIR/target/release/tokref
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1" regex_git="$2" fancy_git="$3"
REGEX_COMMIT=2b527599eb9eea0dcc288c704584f242f26a5c61       # regex-syntax 0.8.11 (Unicode 16.0), regex-automata 0.4.16
FANCY_COMMIT=e8d6986bccd57df06d6013221158cdb023f74d88       # fancy-regex 0.19.0

mkdir -p "$build/vendor/fancy-regex" "$build/src" "$build/.cargo"
git -C "$regex_git" archive --format=tar "$REGEX_COMMIT" regex-syntax regex-automata | tar x -C "$build/vendor"
git -C "$fancy_git" archive --format=tar "$FANCY_COMMIT" | tar x -C "$build/vendor/fancy-regex"
cp "$here/Cargo.toml" "$build/Cargo.toml"
cp "$here/main.rs" "$build/src/main.rs"
cat >"$build/.cargo/config.toml" <<'TOML'
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "/usr/share/cargo/registry"

[net]
offline = true
TOML

cd "$build/vendor"
# Stand-alone crates: no workspace inheritance, no dev-dependencies or benches to resolve.
for manifest in regex-syntax/Cargo.toml regex-automata/Cargo.toml fancy-regex/Cargo.toml; do
  sed -i '/^include.workspace = true/d; /^workspace = "\.\."/d; /^\[dev-dependencies\]/,$d' "$manifest"
done
# regex-automata's optional literal-search crates only speed things up; drop them (not packaged in these versions).
sed -i -e 's/^std = \[.*\]/std = ["regex-syntax?\/std", "alloc"]/' \
  -e 's/^logging = .*/logging = []/' -e 's/^perf-literal-substring = .*/perf-literal-substring = []/' \
  -e 's/^perf-literal-multisubstring = .*/perf-literal-multisubstring = []/' \
  -e '/^aho-corasick = /d; /^log = /d; /^memchr = /d' regex-automata/Cargo.toml
# Debian packages bit-set 0.5, whose BitSet API is what fancy-regex uses from 0.8.
sed -i '/^\[dependencies.bit-set\]/,/^version/ s/^version = "0.8"/version = "0.5"/' fancy-regex/Cargo.toml

cd "$build"
cargo build --release
