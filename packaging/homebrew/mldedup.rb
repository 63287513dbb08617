# Homebrew formula for mldedup (macOS on Apple Silicon and Intel, and Linuxbrew).
#   brew install --build-from-source packaging/homebrew/mldedup.rb    # a release tarball
#   brew install --HEAD packaging/homebrew/mldedup.rb                 # the main branch
# For a release: set url to its tarball and sha256 to `shasum -a 256` of it.
class Mldedup < Formula
  desc "Make CoreML multifunction packages as small as they can be"
  homepage "https://github.com/mldedup/mldedup"
  url "https://github.com/mldedup/mldedup/archive/refs/tags/v0.2.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"
  head "https://github.com/mldedup/mldedup.git", branch: "main"

  depends_on "cmake" => :build
  depends_on "pkg-config" => :build
  depends_on "jansson"
  depends_on "libzip"
  depends_on "protobuf-c"
  depends_on "sqlite"
  depends_on "xxhash"

  def install
    system "cmake", "-S", ".", "-B", "build", "-DBUILD_TESTING=OFF", "-DMLD_INSTALL_TOYGEN=ON", *std_cmake_args
    system "cmake", "--build", "build"
    system "cmake", "--install", "build"
  end

  test do
    # a toy 1-chunk ANEMLL-style export, its infer and prefill combined, the result verified
    system libexec/"mldedup/mldedup-toygen", "-q", "-o", testpath/"export", "--chunks", "1", "--layers", "2"
    infer = Dir["#{testpath}/export/*_FFN_*.mlpackage"].first
    prefill = Dir["#{testpath}/export/*_prefill_*.mlpackage"].first
    sources = ["infer=#{infer}", "prefill=#{prefill}"]
    system bin/"mldedup", "combine", "--store", testpath/"store.db", "-o", testpath/"chunk.mlpackage", *sources
    system bin/"mldedup", "verify", testpath/"chunk.mlpackage", *sources
    assert_match "mldedup #{version}", shell_output("#{bin}/mldedup --version")
  end
end
