// SPDX-License-Identifier: Apache-2.0
// The NumPy sinks: .npy files and .npz archives. NumPy itself (Debian's python3-numpy, run through
// the system python3) loads what we write and compares dtypes, shapes and bytes with the checkpoint's;
// every .npy file must also be byte-identical to what numpy.save writes for the array it loaded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <complex>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/views/filter.hpp"

namespace npy_test {

namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tfckpt_testing::StatusIs;
using tfckpt_testing::tensor_spec;
using tfckpt_testing::typed_tensor;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every regular file under `dir`, relative, sorted.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.is_regular_file()) out.push_back(fs::relative(f.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct command_result {
  int status = -1;
  std::string out;
};
command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, got);
  r.status = ::pclose(pipe);
  return r;
}

// Skips the test (visibly) unless the system python3 can import numpy.
#define REQUIRE_NUMPY()                                                                                     \
  do {                                                                                                     \
    const std::string py = TFCKPT_SYSTEM_PYTHON;                                                           \
    if (py.empty() || !fs::exists(py))                                                                     \
      GTEST_SKIP() << "system python3 not found (TFCKPT_SYSTEM_PYTHON='" << py                             \
                   << "'); install it and numpy: apt-get install python3-numpy";                           \
    if (run_command(shell_quote(py) + " -c 'import numpy'").status != 0)                                   \
      GTEST_SKIP() << "numpy is missing for " << py << "; install it with: apt-get install python3-numpy"; \
  } while (false)

// Loads every array a manifest lists with numpy and compares it with the expected bytes. Entries:
// {"file": .npy path} or {"npz": archive, "key": name}, plus "descr", "shape", "expect" (a file of
// the expected element bytes). .npy files must equal numpy.save's bytes for the loaded array;
// archives must pass zipfile's CRC check and hold exactly the listed keys.
constexpr const char* kCheckScript = R"PY(
import io, json, sys, zipfile
import numpy as np
manifest = json.load(open(sys.argv[1]))
bad = 0
archives = {}
for e in manifest:
    raw = None
    if e.get("npz"):
        if e["npz"] not in archives:
            archives[e["npz"]] = np.load(e["npz"], allow_pickle=False)
        a = archives[e["npz"]][e["key"]]
    else:
        a = np.load(e["file"], allow_pickle=False)
        raw = open(e["file"], "rb").read()
    problems = []
    if a.dtype.str != e["descr"]:
        problems.append("dtype %s, expected %s" % (a.dtype.str, e["descr"]))
    if list(a.shape) != e["shape"]:
        problems.append("shape %s, expected %s" % (a.shape, e["shape"]))
    if a.tobytes() != open(e["expect"], "rb").read():
        problems.append("values differ")
    if raw is not None:
        buf = io.BytesIO()
        np.save(buf, a)
        if buf.getvalue() != raw:
            problems.append("not byte-identical to numpy.save")
    print(("BAD " if problems else "OK ") + e["key"] + (": " + "; ".join(problems) if problems else ""))
    bad += bool(problems)
for path, z in archives.items():
    want = sorted(e["key"] for e in manifest if e.get("npz") == path)
    if sorted(z.files) != want:
        print("BAD keys of %s: %s" % (path, sorted(z.files)))
        bad += 1
    with zipfile.ZipFile(path) as zf:
        first_bad = zf.testzip()
        if first_bad is not None:
            print("BAD CRC-32 of member " + first_bad)
            bad += 1
print("checked %d arrays" % len(manifest))
sys.exit(1 if bad else 0)
)PY";

// Collects expectations and runs kCheckScript over them.
class numpy_check {
 public:
  explicit numpy_check(const fs::path& dir) : dir_(dir) {}
  void npy(const fs::path& file, const std::string& key, const std::string& descr,
           const std::vector<std::int64_t>& shape, const std::string& expect) {
    add({{"file", file.string()}, {"key", key}}, descr, shape, expect);
  }
  void npz(const fs::path& archive, const std::string& key, const std::string& descr,
           const std::vector<std::int64_t>& shape, const std::string& expect) {
    add({{"npz", archive.string()}, {"key", key}}, descr, shape, expect);
  }
  void run() {
    spit(dir_ / "check.py", kCheckScript);
    spit(dir_ / "manifest.json", manifest_.dump());
    const auto r = run_command(shell_quote(TFCKPT_SYSTEM_PYTHON) + " " + shell_quote((dir_ / "check.py").string()) +
                               " " + shell_quote((dir_ / "manifest.json").string()));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr(absl::StrFormat("checked %d arrays", manifest_.size())));
  }

 private:
  void add(nlohmann::json e, const std::string& descr, const std::vector<std::int64_t>& shape,
           const std::string& expect) {
    const fs::path p = dir_ / absl::StrFormat("expect%d.bin", manifest_.size());
    spit(p, expect);
    e["descr"] = descr;
    e["shape"] = shape;
    e["expect"] = p.string();
    manifest_.push_back(std::move(e));
  }
  fs::path dir_;
  nlohmann::json manifest_ = nlohmann::json::array();
};

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// One tensor of every dtype NumPy can hold, and what NumPy must read back.
struct case_spec {
  tensor_spec spec;
  std::string descr;
  std::string expect;  // element bytes as numpy holds them
};

std::vector<case_spec> every_dtype() {
  using tfckpt::dtype;
  std::vector<case_spec> c;
  auto add = [&](tensor_spec s, std::string descr, std::optional<std::string> expect = std::nullopt) {
    std::string e = expect ? *expect : s.data;
    c.push_back({std::move(s), std::move(descr), std::move(e)});
  };
  add(typed_tensor<std::uint8_t>("dtypes/bool", dtype::boolean, {2, 2}, {1, 0, 0, 1}), "|b1");
  add(typed_tensor<std::int8_t>("dtypes/int8", dtype::int8, {4}, {-128, -1, 0, 127}), "|i1");
  add(typed_tensor<std::uint8_t>("dtypes/uint8", dtype::uint8, {3}, {0, 7, 255}), "|u1");
  add(typed_tensor<std::int16_t>("dtypes/int16", dtype::int16, {3}, {-32768, 1, 32767}), "<i2");
  add(typed_tensor<std::uint16_t>("dtypes/uint16", dtype::uint16, {2}, {0, 65535}), "<u2");
  add(typed_tensor<std::int32_t>("dtypes/int32", dtype::int32, {1, 3}, {std::numeric_limits<std::int32_t>::min(), 0, 5}),
      "<i4");
  add(typed_tensor<std::uint32_t>("dtypes/uint32", dtype::uint32, {2}, {0, 4294967295u}), "<u4");
  add(typed_tensor<std::int64_t>("dtypes/int64", dtype::int64, {2},
                                 {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}),
      "<i8");
  add(typed_tensor<std::uint64_t>("dtypes/uint64", dtype::uint64, {1}, {std::numeric_limits<std::uint64_t>::max()}),
      "<u8");
  add(typed_tensor<tfckpt::float16>("dtypes/float16", dtype::float16, {3},
                                {tfckpt::float16(1.5f), tfckpt::float16(-2.0f), tfckpt::float16(65504.0f)}),
      "<f2");
  add(typed_tensor<float>("dtypes/float32", dtype::float32, {2, 3}, {1, 2, 3, 4, 5, 6.5f}), "<f4");
  add(typed_tensor<double>("dtypes/float64", dtype::float64, {2}, {3.141592653589793, -1e300}), "<f8");
  add(typed_tensor<std::complex<float>>("dtypes/complex64", dtype::complex64, {2}, {{1, 2}, {-3, 0.5f}}), "<c8");
  add(typed_tensor<std::complex<double>>("dtypes/complex128", dtype::complex128, {1}, {{1e-300, -7}}), "<c16");
  // bfloat16 widens to float32 exactly: its bits are the top half of the float32's (NaN and inf too).
  const std::vector<std::uint16_t> bf16 = {0x3F80 /*1*/, 0xC060 /*-3.5*/, 0x7F80 /*inf*/, 0x7FC1 /*NaN*/, 0x0001};
  std::vector<std::uint32_t> widened;
  for (std::uint16_t b : bf16) widened.push_back(std::uint32_t{b} << 16);
  add(typed_tensor<std::uint16_t>("dtypes/bfloat16", dtype::bfloat16, {5}, bf16), "<f4", bytes_of(widened));
  add(typed_tensor<float>("shapes/scalar", dtype::float32, {}, {42}), "<f4");
  add(typed_tensor<float>("shapes/empty", dtype::float32, {0, 3}, {}), "<f4");
  add(typed_tensor<std::int64_t>("shapes/empty_1d", dtype::int64, {0}, {}), "<i8");
  add(typed_tensor<std::int32_t>("shapes/rank4", dtype::int32, {1, 2, 1, 2}, {1, 2, 3, 4}), "<i4");
  add(typed_tensor<std::int32_t>("global_step", dtype::int32, {}, {1000}), "<i4");
  return c;
}

struct string_case {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<std::string> values;
  std::string descr;
  std::string expect;
};
std::vector<string_case> string_cases() {
  return {
      {"strings/words", {3}, {"a", "", "hello"}, "|S5", std::string("a\0\0\0\0\0\0\0\0\0hello", 15)},
      {"strings/interior_nul", {2}, {std::string("a\0b", 3), "xy"}, "|S3", std::string("a\0bxy\0", 6)},
      {"strings/scalar", {}, {"tf"}, "|S2", "tf"},
      {"strings/none", {0}, {}, "|S1", ""},
      {"strings/all_empty", {2, 1}, {"", ""}, "|S1", std::string("\0\0", 2)},
  };
}

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<tensor_spec> specs;
    for (const case_spec& c : every_dtype()) specs.push_back(c.spec);
    for (const string_case& s : string_cases())
      specs.push_back(tfckpt_testing::string_tensor(s.name, s.shape, s.values));
    tfckpt_testing::write_bundle(dir_ / "ckpt" / "model", specs);
    auto c = tfckpt::open(dir_ / "ckpt" / "model");
    ASSERT_OK(c.status());
    ckpt_ = std::make_unique<tfckpt::checkpoint>(*std::move(c));
  }
  tfckpt::npy_options quick() const {
    tfckpt::npy_options o;
    o.sync = false;
    o.strings = tfckpt::npy_strings::fixed_width_bytes;
    return o;
  }
  tfckpt_testing::scratch_dir dir_;
  std::unique_ptr<tfckpt::checkpoint> ckpt_;
};

TEST(NpyHeader, LayoutFollowsNumpy) {
  const std::string h = tfckpt::npy_header("<f4", std::vector<std::int64_t>{2, 3});
  ASSERT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<std::size_t>(static_cast<unsigned char>(h[8]) | static_cast<unsigned char>(h[9]) << 8),
            h.size() - 10);
  EXPECT_THAT(h, HasSubstr("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(h.back(), '\n');
  EXPECT_THAT(tfckpt::npy_header("|b1", std::vector<std::int64_t>{}), HasSubstr("'shape': (), }"));
  EXPECT_THAT(tfckpt::npy_header("<i8", std::vector<std::int64_t>{7}), HasSubstr("'shape': (7,), }"));
}

TEST(NpyHeader, VersionTwoPastSixtyFourKiB) {
  // No real array has 30000 dimensions (NumPy allows 32), but the header path must still switch to
  // format 2.0 with a 4-byte length, as numpy's _wrap_header does.
  const std::vector<std::int64_t> shape(30000, 1);
  const std::string h = tfckpt::npy_header("<f4", shape);
  ASSERT_GT(h.size(), 65535u);
  EXPECT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(h[6], 2);
  EXPECT_EQ(h[7], 0);
  const std::uint32_t n = tfckpt::detail::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(h.data() + 8));
  EXPECT_EQ(n, h.size() - 12);
}

TEST(NpyHeader, VersionTwoParsesWithNumpy) {
  REQUIRE_NUMPY();
  tfckpt_testing::scratch_dir dir;
  spit(dir / "big.hdr", tfckpt::npy_header("<f4", std::vector<std::int64_t>(30000, 1)));
  const std::string script =
      "import sys\n"
      "from numpy.lib import format as f\n"
      "with open(sys.argv[1], 'rb') as fp:\n"
      "    v = f.read_magic(fp)\n"
      "    shape, order, dtype = f.read_array_header_2_0(fp, max_header_size=10**6)\n"
      "    print(v, len(shape), order, dtype.str, fp.tell() % 64)\n";
  const auto r = run_command(shell_quote(TFCKPT_SYSTEM_PYTHON) + " -c " + shell_quote(script) + " " +
                             shell_quote((dir / "big.hdr").string()));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "(2, 0) 30000 False <f4 0\n");
}

TEST_F(NpyTest, NumpyLoadsEveryDtypeFromTheDirectory) {
  REQUIRE_NUMPY();
  const fs::path out = dir_ / "npy";
  ASSERT_OK(tfckpt::write_npy_dir(tfckpt::entries(*ckpt_), out, quick()));
  numpy_check check(dir_.path());
  for (const case_spec& c : every_dtype())
    check.npy(out / (c.spec.name + ".npy"), c.spec.name, c.descr, c.spec.shape, c.expect);
  for (const string_case& s : string_cases()) check.npy(out / (s.name + ".npy"), s.name, s.descr, s.shape, s.expect);
  check.run();
  // Scopes became directories, one file per tensor, nothing else left behind.
  EXPECT_EQ(files_under(out).size(), every_dtype().size() + string_cases().size());
  EXPECT_TRUE(fs::is_regular_file(out / "dtypes" / "float32.npy"));
  EXPECT_TRUE(fs::is_regular_file(out / "global_step.npy"));
}

TEST_F(NpyTest, NumpyLoadsEveryDtypeFromTheArchive) {
  REQUIRE_NUMPY();
  for (const bool zip64 : {false, true}) {
    SCOPED_TRACE(zip64 ? "forced ZIP64" : "plain ZIP");
    const fs::path npz = dir_ / (zip64 ? "all64.npz" : "all.npz");
    tfckpt::npy_options o = quick();
    o.force_zip64 = zip64;
    ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt_), npz, o));
    numpy_check check(dir_.path());
    for (const case_spec& c : every_dtype()) check.npz(npz, c.spec.name, c.descr, c.spec.shape, c.expect);
    for (const string_case& s : string_cases()) check.npz(npz, s.name, s.descr, s.shape, s.expect);
    check.run();
  }
}

TEST_F(NpyTest, ArchiveMembersAreNumpyFilesAndTheZipIsDeterministic) {
  const fs::path a = dir_ / "a.npz";
  const fs::path b = dir_ / "b.npz";
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt_), a, quick()));
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt_), b, quick()));
  EXPECT_EQ(slurp(a), slurp(b));
  // The .npy bytes inside the archive are those of the directory sink (members are stored).
  ASSERT_OK(tfckpt::write_npy_dir(tfckpt::entries(*ckpt_), dir_ / "d", quick()));
  const std::string zip = slurp(a);
  const std::string one = slurp(dir_ / "d" / "dtypes" / "float64.npy");
  EXPECT_NE(zip.find("dtypes/float64.npy" + one), std::string::npos);
  EXPECT_EQ(zip.substr(0, 4), "PK\x03\x04");
}

TEST_F(NpyTest, Bfloat16RawKeepsTheBitsAsUint16) {
  REQUIRE_NUMPY();
  tfckpt::npy_options o = quick();
  o.bfloat16 = tfckpt::npy_bfloat16::raw_uint16;
  const auto bf16 = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dtypes/bfloat16")));
  ASSERT_EQ(bf16.size(), 1u);
  ASSERT_OK(tfckpt::write_npy_dir(bf16, dir_ / "raw", o));
  ASSERT_OK(tfckpt::write_npz(bf16, dir_ / "raw.npz", o));
  const std::string stored(reinterpret_cast<const char*>(ckpt_->find("dtypes/bfloat16")->bytes()->data()), 10);
  numpy_check check(dir_.path());
  check.npy(dir_ / "raw" / "dtypes" / "bfloat16.npy", "dtypes/bfloat16", "<u2", {5}, stored);
  check.npz(dir_ / "raw.npz", "dtypes/bfloat16", "<u2", {5}, stored);
  check.run();
}

TEST(NpyFixture, MnistEmaLoadsInNumpyWithTheCheckpointsValues) {
  TFCKPT_REQUIRE_FIXTURES();
  REQUIRE_NUMPY();
  auto ckpt = tfckpt::open(tfckpt_testing::fixtures_dir() / "mnist_ema" / "MNIST_model");
  ASSERT_OK(ckpt.status());
  tfckpt_testing::scratch_dir dir;
  tfckpt::npy_options o;
  o.sync = false;
  ASSERT_OK(tfckpt::write_npy_dir(tfckpt::entries(*ckpt), dir / "npy", o));
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt), dir / "mnist.npz", o));
  numpy_check check(dir.path());
  bool saw_weights = false;
  for (const tfckpt::entry& e : ckpt->entries()) {
    const std::string name(e.name());
    const std::vector<std::int64_t> shape(e.shape().begin(), e.shape().end());
    ASSERT_OK_AND_ASSIGN(const auto bytes, e.bytes());
    const std::string expect(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::string descr = e.dtype() == tfckpt::dtype::int32 ? "<i4" : "<f4";
    check.npy(dir / "npy" / (name + ".npy"), name, descr, shape, expect);
    check.npz(dir / "mnist.npz", name, descr, shape, expect);
    if (name == "layer1/weights") {
      saw_weights = true;
      EXPECT_EQ(shape, (std::vector<std::int64_t>{784, 500}));
    }
  }
  EXPECT_TRUE(saw_weights);
  check.run();
}

// A tensor whose bytes come from a producer emitting `chunk`-byte pieces, counting its runs.
tfckpt::tensor produced(std::string name, tfckpt::dtype dtype, std::vector<std::int64_t> shape, std::string bytes,
                        std::size_t chunk, std::shared_ptr<int> runs) {
  tfckpt::tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  auto data = std::make_shared<const std::string>(std::move(bytes));
  t.source = tfckpt::byte_source::from_producer(data->size(), [data, chunk, runs](const auto& emit) -> absl::Status {
    ++*runs;
    const auto* p = reinterpret_cast<const std::byte*>(data->data());
    for (std::size_t at = 0; at < data->size(); at += chunk)
      TFCKPT_RETURN_IF_ERROR(emit(std::span<const std::byte>(p + at, std::min(chunk, data->size() - at))));
    return absl::OkStatus();
  });
  t.origins.push_back({"memory", 0, t.name});
  return t;
}

TEST(NpyStreaming, ConversionsSurviveAnyChunking) {
  tfckpt_testing::scratch_dir dir;
  std::vector<std::uint16_t> bf16(70000);  // more than one 64 KiB output chunk once widened
  for (std::size_t i = 0; i < bf16.size(); ++i) bf16[i] = static_cast<std::uint16_t>(i * 2654435761u >> 7);
  std::vector<std::uint32_t> widened;
  for (std::uint16_t b : bf16) widened.push_back(std::uint32_t{b} << 16);
  std::vector<std::string> words;
  std::string padded;
  for (int i = 0; i < 3000; ++i) {
    words.push_back(std::string(static_cast<std::size_t>(i % 23), static_cast<char>('a' + i % 26)));
    padded += words.back() + std::string(22 - words.back().size(), '\0');
  }
  tfckpt::npy_options o;
  o.sync = false;
  o.strings = tfckpt::npy_strings::fixed_width_bytes;
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{4096}, std::size_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    auto runs = std::make_shared<int>(0);
    const std::vector<tfckpt::tensor> ts = {
        produced("b", tfckpt::dtype::bfloat16, {70000}, bytes_of(bf16), chunk, runs),
        produced("s", tfckpt::dtype::string, {3000}, tfckpt_testing::encode_strings(words), chunk, runs),
    };
    const fs::path out = dir / std::to_string(chunk);
    ASSERT_OK(tfckpt::write_npy_dir(ts, out, o));
    EXPECT_EQ(slurp(out / "b.npy"), tfckpt::npy_header("<f4", std::vector<std::int64_t>{70000}) + bytes_of(widened));
    EXPECT_EQ(slurp(out / "s.npy"), tfckpt::npy_header("|S22", std::vector<std::int64_t>{3000}) + padded);
    EXPECT_EQ(*runs, 3);  // the bfloat16 once; the strings twice (lengths, then elements)
  }
}

TEST(NpyStreaming, CorruptStringLengthsAreDataLoss) {
  tfckpt_testing::scratch_dir dir;
  auto runs = std::make_shared<int>(0);
  std::string enc = tfckpt_testing::encode_strings({"ab", "c"});
  enc[2] ^= 1;  // the length checksum
  const std::vector<tfckpt::tensor> ts = {produced("s", tfckpt::dtype::string, {2}, enc, 2, runs)};
  tfckpt::npy_options o;
  o.strings = tfckpt::npy_strings::fixed_width_bytes;
  EXPECT_THAT(tfckpt::write_npz(ts, dir / "s.npz", o),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("length checksum mismatch")));
  EXPECT_THAT(files_under(dir.path()), ::testing::IsEmpty());
}

TEST_F(NpyTest, FileNamesSubdirectoriesOrFlat) {
  tfckpt::npy_options flat;
  flat.file_names = tfckpt::npy_file_names::flat;
  EXPECT_EQ(*tfckpt::npy_relative_path("layer1/weights"), "layer1/weights.npy");
  EXPECT_EQ(*tfckpt::npy_relative_path("layer1/weights", flat), "layer1__weights.npy");
  EXPECT_EQ(*tfckpt::npy_relative_path("model/.ATTRIBUTES/VARIABLE_VALUE"), "model/.ATTRIBUTES/VARIABLE_VALUE.npy");
  for (const char* bad : {"", "/abs", "a//b", "a/", "a/../b", "./a", ".."})
    EXPECT_THAT(tfckpt::npy_relative_path(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("file name")))
        << bad;
  EXPECT_FALSE(tfckpt::npy_relative_path(std::string(252, 'x')).ok());
  EXPECT_TRUE(tfckpt::npy_relative_path(std::string(251, 'x')).ok());
  EXPECT_TRUE(tfckpt::npy_relative_path(std::string(255, 'x') + "/y").ok());

  const auto subset = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dtypes/int*")));
  tfckpt::npy_options o = quick();
  o.file_names = tfckpt::npy_file_names::flat;
  ASSERT_OK(tfckpt::write_npy_dir(subset, dir_ / "flat", o));
  EXPECT_THAT(files_under(dir_ / "flat"), ::testing::ElementsAre("dtypes__int16.npy", "dtypes__int32.npy",
                                                                  "dtypes__int64.npy", "dtypes__int8.npy"));
}

// Renamed copies of one stored tensor: what a pipeline with transform_names would hand the sink.
std::vector<tfckpt::tensor> renamed(const tfckpt::tensor& base, std::vector<std::string> names) {
  std::vector<tfckpt::tensor> out;
  for (std::string& n : names) {
    tfckpt::tensor t = base;
    t.name = std::move(n);
    out.push_back(std::move(t));
  }
  return out;
}

TEST_F(NpyTest, BadNamesAndCollisionsAreAllReportedAndNothingIsWritten) {
  const auto all = tfckpt::collect(tfckpt::entries(*ckpt_));
  const tfckpt::tensor& f32 = all[0];
  const auto ts = renamed(f32, {"ok", "a//b", "../escape", "x", "x.npy/y"});
  const absl::Status s = tfckpt::write_npy_dir(ts, dir_ / "bad", quick());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("3 problems")));
  EXPECT_THAT(s.message(), HasSubstr("'a//b' cannot be a file name"));
  EXPECT_THAT(s.message(), HasSubstr("'../escape' cannot be a file name"));
  EXPECT_THAT(s.message(), HasSubstr("'x' would be written to x.npy, which other tensors need as a directory"));
  EXPECT_FALSE(fs::exists(dir_ / "bad"));

  tfckpt::npy_options flat = quick();
  flat.file_names = tfckpt::npy_file_names::flat;
  EXPECT_THAT(tfckpt::write_npy_dir(renamed(f32, {"a/b", "a__b"}), dir_ / "flat", flat),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'a/b' and 'a__b' would both be written to a__b.npy")));
  EXPECT_FALSE(fs::exists(dir_ / "flat"));
  // Names are fine inside an archive, but NUL bytes and invalid UTF-8 are not.
  EXPECT_OK(tfckpt::check_npz(renamed(f32, {"a//b", "../escape"}), quick()));
  const absl::Status z = tfckpt::write_npz(renamed(f32, {std::string("nul\0", 4), "bad\xff"}), dir_ / "n.npz", quick());
  EXPECT_THAT(z, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 problems")));
  EXPECT_THAT(z.message(), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(z.message(), HasSubstr("NUL byte"));
  EXPECT_THAT(files_under(dir_.path()), ::testing::Each(::testing::StartsWith("ckpt/")));
}

TEST_F(NpyTest, UnsupportedDtypesAreListedAtOnceAndNothingIsWritten) {
  // Strings are rejected by default; quantized and variant dtypes have no NumPy type at all.
  tfckpt_testing::write_bundle(dir_ / "odd" / "m",
                               {
                                   typed_tensor<std::int8_t>("q/qint8", tfckpt::dtype::qint8, {2}, {1, 2}),
                                   typed_tensor<std::uint8_t>("q/f8", tfckpt::dtype::float8_e5m2, {1}, {1}),
                                   tfckpt_testing::string_tensor("vocab", {2}, {"a", "b"}),
                                   tfckpt_testing::float_tensor("w", {1}, {1}),
                               });
  ASSERT_OK_AND_ASSIGN(auto odd, tfckpt::open(dir_ / "odd" / "m"));
  tfckpt::npy_options o;
  o.sync = false;
  for (const bool archive : {false, true}) {
    const fs::path out = dir_ / (archive ? "o.npz" : "o");
    const absl::Status s = archive ? tfckpt::write_npz(tfckpt::entries(odd), out, o)
                                   : tfckpt::write_npy_dir(tfckpt::entries(odd), out, o);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("3 problems")));
    EXPECT_THAT(s.message(), HasSubstr("'q/qint8' is qint8, which has no NumPy dtype"));
    EXPECT_THAT(s.message(), HasSubstr("'q/f8' is float8_e5m2"));
    EXPECT_THAT(s.message(), HasSubstr("'vocab' is a string tensor"));
    EXPECT_THAT(s.message(), HasSubstr("--strings bytes"));
    EXPECT_FALSE(fs::exists(out));
  }
  EXPECT_THAT(files_under(dir_.path()), ::testing::Each(::testing::Not(HasSubstr("tempstate"))));
  EXPECT_THAT(files_under(dir_ / "odd"), ::testing::ElementsAre("m.data-00000-of-00001", "m.index"));
}

TEST_F(NpyTest, ExistingOutputNeedsOverwrite) {
  const auto one = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dtypes/int8")));
  ASSERT_OK(tfckpt::write_npy_dir(one, dir_ / "d", quick()));
  ASSERT_OK(tfckpt::write_npz(one, dir_ / "d.npz", quick()));
  spit(dir_ / "d" / "dtypes" / "int8.npy", "old");
  spit(dir_ / "d.npz", "old");
  EXPECT_THAT(tfckpt::write_npy_dir(one, dir_ / "d", quick()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("int8.npy exists (tensor 'dtypes/int8')")));
  EXPECT_THAT(tfckpt::write_npz(one, dir_ / "d.npz", quick()), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("exists")));
  EXPECT_EQ(slurp(dir_ / "d.npz"), "old");
  tfckpt::npy_options o = quick();
  o.overwrite = true;
  ASSERT_OK(tfckpt::write_npy_dir(one, dir_ / "d", o));
  ASSERT_OK(tfckpt::write_npz(one, dir_ / "d.npz", o));
  EXPECT_EQ(slurp(dir_ / "d" / "dtypes" / "int8.npy").substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(slurp(dir_ / "d.npz").substr(0, 2), "PK");
}

TEST_F(NpyTest, PlanningReadsNoTensorByte) {
  auto runs = std::make_shared<int>(0);
  std::vector<tfckpt::tensor> ts = {
      produced("w", tfckpt::dtype::float32, {2}, std::string(8, '\1'), 3, runs),
      produced("s", tfckpt::dtype::string, {1}, tfckpt_testing::encode_strings({"abc"}), 3, runs),
  };
  EXPECT_OK(tfckpt::check_npy_dir(ts, quick()));
  EXPECT_OK(tfckpt::check_npz(ts, quick()));
  EXPECT_EQ(*runs, 0);
  // A pipeline with a problem is refused before any byte is read.
  ts.push_back(produced("c", tfckpt::dtype::qint32, {1}, std::string(4, '\0'), 3, runs));
  EXPECT_FALSE(tfckpt::write_npy_dir(ts, dir_ / "x", quick()).ok());
  EXPECT_FALSE(tfckpt::write_npz(ts, dir_ / "x.npz", quick()).ok());
  EXPECT_EQ(*runs, 0);
}

TEST_F(NpyTest, ChecksNeedNoDataShardAndWritesFailCleanlyWithout) {
  fs::remove(tfckpt::data_file_name((dir_ / "ckpt" / "model").string(), 0, 1));
  const auto planned = tfckpt::collect(tfckpt::entries(*ckpt_));
  EXPECT_OK(tfckpt::check_npy_dir(planned, quick()));
  EXPECT_OK(tfckpt::check_npz(planned, quick()));
  EXPECT_THAT(tfckpt::write_npz(planned, dir_ / "m.npz", quick()), StatusIs(absl::StatusCode::kNotFound, HasSubstr("data-00000-of-00001")));
  EXPECT_FALSE(fs::exists(dir_ / "m.npz"));
  EXPECT_THAT(files_under(dir_.path()), ::testing::ElementsAre("ckpt/model.index"));
}

TEST_F(NpyTest, AFailedWriteLeavesThePreviousArchive) {
  spit(dir_ / "m.npz", "previous");
  tfckpt::npy_options o = quick();
  o.overwrite = true;
  o.write_hook = [](std::string_view, std::uint64_t offset, std::size_t) {
    return offset > 0 ? absl::ResourceExhaustedError("disk full (simulated)") : absl::OkStatus();
  };
  // Writes go out in 1 MiB buffers: make the archive larger than one.
  std::vector<tfckpt::tensor> ts;
  auto runs = std::make_shared<int>(0);
  for (int i = 0; i < 3; ++i)
    ts.push_back(produced(absl::StrFormat("t%d", i), tfckpt::dtype::float32, {200000}, std::string(800000, '\2'), 65536, runs));
  EXPECT_THAT(tfckpt::write_npz(ts, dir_ / "m.npz", o), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk full")));
  EXPECT_EQ(slurp(dir_ / "m.npz"), "previous");
  EXPECT_THAT(files_under(dir_.path()), ::testing::Each(::testing::Not(HasSubstr("tempstate"))));
}

TEST_F(NpyTest, SingleFileAndProgress) {
  const tfckpt::tensor w = tfckpt::collect(tfckpt::entries(*ckpt_) | tfckpt::views::filter(tfckpt::name_glob("dtypes/float32")))[0];
  ASSERT_OK(tfckpt::write_npy(w, dir_ / "w.npy", quick()));
  EXPECT_EQ(slurp(dir_ / "w.npy"), tfckpt::npy_header("<f4", w.shape) + std::string(reinterpret_cast<const char*>(
                                                                           ckpt_->find("dtypes/float32")->bytes()->data()),
                                                                       24));
  EXPECT_THAT(tfckpt::write_npy(w, dir_ / "w.npy", quick()), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("exists")));
  std::vector<std::uint64_t> seen;
  tfckpt::npy_options o = quick();
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    seen.push_back(done);
    EXPECT_LE(done, total);
  };
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt_), dir_ / "p.npz", o));
  EXPECT_EQ(seen.size(), ckpt_->entries().size());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

}  // namespace

}  // namespace npy_test
