// SPDX-License-Identifier: Apache-2.0
// Checkpoints read over HTTP and S3 from real servers on loopback (tests/remote/servers: nginx
// serving the fixtures, s3rver holding them in a bucket, and a proxy that injects faults), compared
// byte for byte with the same checkpoints read from disk.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/cli_runner.hpp"
#include "testing/paths.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"
#include "tfckpt/io/remote_http.hpp"

namespace remote_test {
namespace {

namespace fs = std::filesystem;
using tfckpt_testing::fixtures_dir;

// KEY=VALUE lines that tests/remote/servers/start.sh writes once every server answers.
std::map<std::string, std::string> endpoints() {
  std::string path = TFCKPT_REMOTE_ENDPOINTS;
  if (const char* env = std::getenv("TFCKPT_REMOTE_ENDPOINTS"); env != nullptr && *env != '\0') path = env;
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

class Remote : public ::testing::Test {
 protected:
  void SetUp() override {
    TFCKPT_REQUIRE_FIXTURES();
    env_ = endpoints();
    if (env_.count("TFCKPT_TEST_HTTP") == 0)
      GTEST_SKIP() << "loopback servers not running (no endpoints file " << TFCKPT_REMOTE_ENDPOINTS
                   << "; ctest starts them with the fixture remote_servers_start)";
  }
  std::string http(const std::string& rel) const { return env_.at("TFCKPT_TEST_HTTP") + "/fixtures/" + rel; }
  std::string fault(const std::string& how, const std::string& rel) const {
    return env_.at("TFCKPT_TEST_FAULT") + "/fault/" + how + "/fixtures/" + rel;
  }
  // An S3 view of the same fixtures: the bucket, the endpoint and the keys in the environment, as a user sets them.
  void use_s3(const std::string& secret = "") const {
    setenv("AWS_ENDPOINT_URL", env_.at("TFCKPT_TEST_S3_ENDPOINT").c_str(), 1);
    setenv("AWS_ACCESS_KEY_ID", env_.at("TFCKPT_TEST_S3_KEY_ID").c_str(), 1);
    setenv("AWS_SECRET_ACCESS_KEY", (secret.empty() ? env_.at("TFCKPT_TEST_S3_SECRET") : secret).c_str(), 1);
    setenv("AWS_REGION", env_.at("TFCKPT_TEST_S3_REGION").c_str(), 1);
  }
  std::string s3(const std::string& rel) const { return "s3://" + env_.at("TFCKPT_TEST_S3_BUCKET") + "/" + rel; }

  std::map<std::string, std::string> env_;
};

// A store that gives up quickly, for the fault tests.
tfckpt::io::http_store_options quick_options() {
  tfckpt::io::http_store_options o;
  o.attempts = 4;
  o.first_backoff = std::chrono::milliseconds(1);
  o.stall_seconds = 1;
  return o;
}

// Every tensor of `remote` has the name, dtype, shape and bytes of the same tensor in `local`, and
// verify() passes.
void expect_same_checkpoint(const tfckpt::checkpoint& remote, const tfckpt::checkpoint& local) {
  ASSERT_EQ(remote.size(), local.size());
  for (std::size_t i = 0; i < local.size(); ++i) {
    const tfckpt::entry& r = remote.entries()[i];
    const tfckpt::entry& l = local.entries()[i];
    ASSERT_EQ(r.name(), l.name());
    EXPECT_EQ(r.dtype(), l.dtype()) << l.name();
    EXPECT_TRUE(std::ranges::equal(r.shape(), l.shape())) << l.name();
    auto rb = r.bytes();
    auto lb = l.bytes();
    ASSERT_TRUE(rb.ok()) << rb.status();
    ASSERT_TRUE(lb.ok()) << lb.status();
    EXPECT_TRUE(std::ranges::equal(*rb, *lb)) << l.name();
  }
  const tfckpt::verify_report report = remote.verify();
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0].ToString());
}

void expect_same_as_fixture(const std::string& url, const std::string& rel, tfckpt::open_options options = {}) {
  auto remote = tfckpt::open(url, options);
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto local = tfckpt::open(fixtures_dir() / rel);
  ASSERT_TRUE(local.ok()) << local.status();
  expect_same_checkpoint(*remote, *local);
}

// One line of the nginx access log: `METHOD URI "RANGE" STATUS BYTES`.
struct logged_request {
  std::string method, uri, range;
  int status = 0;
  std::uint64_t bytes = 0;
};

std::vector<logged_request> read_log(const std::string& path, std::size_t skip_bytes) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(skip_bytes));
  std::vector<logged_request> out;
  for (std::string line; std::getline(in, line);) {
    logged_request r;
    std::istringstream fields(line);
    fields >> r.method >> r.uri >> std::quoted(r.range) >> r.status >> r.bytes;
    if (fields) out.push_back(r);
  }
  return out;
}

// A checkpoint of this test's own under the served www/ directory (2 shards, 4 tensors), so that
// the requests counted in the shared access log are this test's only; removed with the object.
class served_checkpoint {
 public:
  served_checkpoint(const fs::path& www, const std::string& base_url, const std::string& tag)
      : dir_(www / (tag + "-" + std::to_string(::getpid()))), url_(base_url + "/www/" + dir_.filename().string() + "/ckpt") {
    auto a = tfckpt_testing::float_tensor("a", {1000}, std::vector<float>(1000, 1.5f));
    auto b = tfckpt_testing::float_tensor("b/kernel", {64, 64}, std::vector<float>(4096, -2.0f));
    auto c = tfckpt_testing::float_tensor("c", {3}, {1, 2, 3});
    auto d = tfckpt_testing::float_tensor("d", {500}, std::vector<float>(500, 0.25f));
    b.shard = 1;
    d.shard = 1;
    tfckpt_testing::write_bundle(dir_ / "ckpt", {a, b, c, d}, {.num_shards = 2});
  }
  ~served_checkpoint() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path prefix() const { return dir_ / "ckpt"; }
  const std::string& url() const { return url_; }

 private:
  fs::path dir_;
  std::string url_;
};

// The requests for URIs starting with `mine` logged after byte `mark`: nginx logs a request once it
// has sent the answer, which may be after the client has it, so wait until `at_least` are there
// (at most 5 s), and a moment longer for any that follow.
std::vector<logged_request> my_requests(const std::string& log, std::size_t mark, const std::string& mine,
                                        std::size_t at_least) {
  const auto mine_only = [&] {
    std::vector<logged_request> out;
    for (logged_request& r : read_log(log, mark))
      if (r.uri.starts_with(mine)) out.push_back(std::move(r));
    return out;
  };
  for (int i = 0; i < 500 && mine_only().size() < at_least; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return mine_only();
}

TEST_F(Remote, EveryFixtureReadsAsFromDisk) {
  for (const char* rel : {"mnist_ema/MNIST_model/mnist_model-30000", "mnist_fc2_adam/fc2.ckpt",
                          "iris_keras_sharded_tf2/model.ckpt", "estimator_proximal_adagrad/model.ckpt-300",
                          "rust_regression_savedmodel/variables/variables"}) {
    SCOPED_TRACE(rel);
    if (!fs::exists(fixtures_dir() / (std::string(rel) + ".index"))) {
      ADD_FAILURE() << "fixture moved: " << rel;
      continue;
    }
    expect_same_as_fixture(http(rel), rel);
  }
}

TEST_F(Remote, V1CheckpointsAreReadFromTheirOneObject) {
  expect_same_as_fixture(http("nxt_v1_adam/model.ckpt"), "nxt_v1_adam/model.ckpt");
  // Through the state file, whose absolute path from the training machine is looked up by its last
  // component in the directory.
  expect_same_as_fixture(http("mnist_softmax_v1_frozen/model/"), "mnist_softmax_v1_frozen/model/model.ckpt");
  expect_same_as_fixture(http("nxt_v1_adam"), "nxt_v1_adam");
}

TEST_F(Remote, DirectoriesResolveThroughTheStateFileAndSavedModels) {
  auto dir = tfckpt::latest_remote_checkpoint(http("a2c_tf2_checkpoint_manager/training_checkpoints/"));
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, http("a2c_tf2_checkpoint_manager/training_checkpoints/ckpt-9"));
  expect_same_as_fixture(http("mnist_ema/MNIST_model"), "mnist_ema/MNIST_model");
  expect_same_as_fixture(http("serving_half_plus_two_tf2/00000123"), "serving_half_plus_two_tf2/00000123");

  auto missing = tfckpt::open(http("no/such/dir/"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(http("no/such/dir")), std::string_view::npos) << missing.status();
}

TEST_F(Remote, FetchesTheIndexAndOnlyTheTensorAskedFor) {
  const served_checkpoint served(env_.at("TFCKPT_TEST_WWW_DIR"), env_.at("TFCKPT_TEST_HTTP"), "fetch");
  const std::string log = env_.at("TFCKPT_TEST_NGINX_LOG");
  const std::size_t mark = fs::file_size(log);
  auto ckpt = tfckpt::open(served.url());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  auto w = ckpt->get("b/kernel");
  ASSERT_TRUE(w.ok()) << w.status();
  auto values = (*w)->values<float>();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(values->span()[17], -2.0f);

  std::uint64_t index_bytes = 0, data_bytes = 0, gets = 0;
  // GET of the index, HEAD of the shard, GET of the tensor's range: nothing else.
  const auto requests = my_requests(log, mark, served.url().substr(served.url().find("/www/")), 3);
  EXPECT_EQ(requests.size(), 3u);
  for (const logged_request& r : requests) {
    if (r.method != "GET") continue;
    ++gets;
    if (r.uri.ends_with(".index")) index_bytes += r.bytes;
    if (r.uri.find(".data-00001-of-00002") != std::string::npos) data_bytes += r.bytes;
  }
  EXPECT_EQ(gets, 2u);
  EXPECT_EQ(index_bytes, fs::file_size(served.prefix().string() + ".index"));
  EXPECT_EQ(data_bytes, (*w)->size());
}

TEST_F(Remote, ListingReadsNoTensorData) {
  const served_checkpoint served(env_.at("TFCKPT_TEST_WWW_DIR"), env_.at("TFCKPT_TEST_HTTP"), "list");
  const std::string mine = served.url().substr(served.url().find("/www/"));
  const std::string log = env_.at("TFCKPT_TEST_NGINX_LOG");
  const std::size_t mark = fs::file_size(log);
  std::vector<std::string> names;
  ASSERT_TRUE(tfckpt::scan_index(served.url(), [&](const tfckpt::index_record& e) {
                names.emplace_back(e.name);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b/kernel", "c", "d"}));
  int index_gets = 0;
  const auto requests = my_requests(log, mark, mine, 1);
  EXPECT_EQ(requests.size(), 1u);  // the index, in one request
  for (const logged_request& r : requests) {
    EXPECT_EQ(r.uri.find(".data-"), std::string::npos) << r.uri;
    index_gets += r.method == "GET" && r.uri.ends_with(".index");
  }
  EXPECT_EQ(index_gets, 1);

  // `tfckpt ls` scans twice (the first scan sizes the columns) but fetches the index once.
  const std::size_t before_ls = fs::file_size(log);
  const auto ls = tfckpt_testing::run_cli({"ls", served.url()});
  ASSERT_EQ(ls.exit_code, 0) << ls;
  EXPECT_EQ(ls.out, tfckpt_testing::run_cli({"ls", served.prefix().string()}).out);
  index_gets = 0;
  for (const logged_request& r : my_requests(log, before_ls, mine, 1)) {
    EXPECT_EQ(r.uri.find(".data-"), std::string::npos) << r.uri;
    index_gets += r.method == "GET" && r.uri.ends_with(".index");
  }
  EXPECT_EQ(index_gets, 1);
}

TEST_F(Remote, LargeTensorsArriveInPiecesInFlight) {
  const fs::path www = env_.at("TFCKPT_TEST_WWW_DIR");
  const std::string name = "big-" + std::to_string(::getpid());
  std::vector<float> big(5'000'000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 9973) * 0.5f;
  tfckpt_testing::write_bundle(www / name / "ckpt", {tfckpt_testing::float_tensor("w", {5000, 1000}, big),
                                                     tfckpt_testing::float_tensor("b", {3}, {1, 2, 3})});
  tfckpt::io::http_store_options o;
  o.piece_bytes = std::size_t{1} << 20;
  o.in_flight = 4;
  tfckpt::io::http_store store(o);
  auto remote = tfckpt::open(env_.at("TFCKPT_TEST_HTTP") + "/www/" + name + "/ckpt", {.remote_store = &store});
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto local = tfckpt::open(www / name / "ckpt");
  ASSERT_TRUE(local.ok()) << local.status();

  // Streamed (as cp and convert read), a large tensor passes through and is not kept: a second
  // stream fetches it again.
  auto w = remote->get("w");
  ASSERT_TRUE(w.ok());
  const auto local_w = (*local->get("w"))->bytes();
  ASSERT_TRUE(local_w.ok());
  for (int pass = 0; pass < 2; ++pass) {
    const std::uint64_t before = store.counters().bytes;
    std::vector<std::byte> streamed;
    const absl::Status s = (*w)->host_order_source().stream([&](std::span<const std::byte> piece) {
      streamed.insert(streamed.end(), piece.begin(), piece.end());
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_TRUE(std::ranges::equal(streamed, *local_w)) << "pass " << pass;
    EXPECT_EQ(store.counters().bytes - before, (*w)->size()) << "pass " << pass;
  }
  expect_same_checkpoint(*remote, *local);
  // 20,000,000 bytes in 1 MiB pieces: 20 ranged requests, plus the index, the head requests and b.
  EXPECT_GE(store.counters().requests, 20u);
  EXPECT_EQ(store.counters().retries, 0u);
  fs::remove_all(www / name);
}

struct fault_case {
  const char* how;    // the proxy's mode and count
  bool recovers;      // retried until it succeeds, or an error
  const char* error;  // part of the message when it does not
  absl::StatusCode code = absl::StatusCode::kOk;
};

// The first error of opening `url` and reading every tensor, or OK.
absl::Status open_and_read_all(const std::string& url, tfckpt::io::remote_store* store) {
  auto ckpt = tfckpt::open(url, {.remote_store = store});
  if (!ckpt.ok()) return ckpt.status();
  for (const tfckpt::entry& e : ckpt->entries())
    if (auto b = e.bytes(); !b.ok()) return b.status();
  return absl::OkStatus();
}

TEST_F(Remote, FaultsAreRetriedOrReported) {
  const std::string rel = "mnist_ema/MNIST_model/mnist_model-30000";
  const std::vector<fault_case> cases = {
      {"close/2", true, ""},
      {"status500/3", true, ""},
      {"status503/1", true, ""},
      {"badrange/1", true, ""},
      {"corrupt/1", true, ""},
      {"slow/1", true, ""},
      {"norange/always", true, ""},
      {"status500/always", false, "HTTP 500", absl::StatusCode::kUnavailable},
      {"close/always", false, "gave up after 4 tries", absl::StatusCode::kUnavailable},
      {"badrange/always", false, "another range", absl::StatusCode::kDataLoss},
      {"corrupt/always", false, "fetched twice", absl::StatusCode::kDataLoss},
  };
  for (const fault_case& c : cases) {
    SCOPED_TRACE(c.how);
    tfckpt::io::http_store store(quick_options());
    if (c.recovers) {
      auto remote = tfckpt::open(fault(c.how, rel), {.remote_store = &store});
      ASSERT_TRUE(remote.ok()) << remote.status();
      auto local = tfckpt::open(fixtures_dir() / rel);
      ASSERT_TRUE(local.ok());
      expect_same_checkpoint(*remote, *local);
      continue;
    }
    const absl::Status failed = open_and_read_all(fault(c.how, rel), &store);
    EXPECT_EQ(failed.code(), c.code) << failed;
    EXPECT_NE(failed.message().find(c.error), std::string_view::npos) << failed;
    EXPECT_NE(failed.message().find("/fault/"), std::string_view::npos) << failed;
  }
}

TEST_F(Remote, ADamagedIndexIsFetchedAgain) {
  // Named by its .index, the checkpoint's first request is the index itself, which the proxy damages.
  const std::string rel = "mnist_ema/MNIST_model/mnist_model-30000";
  tfckpt::io::http_store store(quick_options());
  auto remote = tfckpt::open(fault("corrupt/1", rel + ".index"), {.remote_store = &store});
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto local = tfckpt::open(fixtures_dir() / rel);
  ASSERT_TRUE(local.ok());
  expect_same_checkpoint(*remote, *local);
}

// Serves the index as it is and the data shards through the proxy with fault `how`: the damage
// reaches tensor bytes only.
class data_fault_store final : public tfckpt::io::remote_store {
 public:
  data_fault_store(std::string plain, std::string faulty) : plain_(std::move(plain)), faulty_(std::move(faulty)) {}
  absl::StatusOr<std::unique_ptr<tfckpt::io::remote_object>> open(const std::string& url) override {
    return inner_.open(url.find(".data-") == std::string::npos ? url : faulty_ + url.substr(plain_.size()));
  }
  absl::StatusOr<std::string> read_all(const std::string& url, std::uint64_t limit) override {
    return inner_.read_all(url, limit);
  }
  tfckpt::io::remote_counters counters() const override { return inner_.counters(); }

 private:
  std::string plain_, faulty_;
  tfckpt::io::http_store inner_{quick_options()};
};

TEST_F(Remote, DamagedTensorBytesAreNeverReturned) {
  const std::string rel = "mnist_ema/MNIST_model/mnist_model-30000";
  {
    data_fault_store store(http(""), env_.at("TFCKPT_TEST_FAULT") + "/fault/corrupt/2/fixtures/");
    auto remote = tfckpt::open(http(rel), {.remote_store = &store});
    ASSERT_TRUE(remote.ok()) << remote.status();
    auto local = tfckpt::open(fixtures_dir() / rel);
    ASSERT_TRUE(local.ok());
    expect_same_checkpoint(*remote, *local);  // damaged twice, fetched a third time
  }
  data_fault_store store(http(""), env_.at("TFCKPT_TEST_FAULT") + "/fault/corrupt/always/fixtures/");
  auto remote = tfckpt::open(http(rel), {.remote_store = &store});
  ASSERT_TRUE(remote.ok()) << remote.status();
  auto w = remote->get("layer1/weights");
  ASSERT_TRUE(w.ok());
  auto bytes = (*w)->bytes();
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kDataLoss) << bytes.status();
  // Named by the checkpoint's own URL: the routing is this test's.
  for (const char* part : {"mnist_model-30000.data-00000-of-00001 @4004", "checksum mismatch",
                           "(fetched 3 times) for key 'layer1/weights'"})
    EXPECT_NE(bytes.status().message().find(part), std::string_view::npos) << part << " in " << bytes.status();
  // Asked again, it is fetched again, not served from the damaged copy.
  EXPECT_FALSE((*w)->bytes().ok());
  EXPECT_FALSE(remote->verify().ok());
  // Streamed (it is over 1 MiB, so not kept), the damage ends the stream with the same error.
  const absl::Status streamed = (*w)->host_order_source().stream([](std::span<const std::byte>) { return absl::OkStatus(); });
  EXPECT_EQ(streamed.code(), absl::StatusCode::kDataLoss) << streamed;
  EXPECT_NE(streamed.message().find("checksum mismatch"), std::string_view::npos) << streamed;
}

TEST_F(Remote, S3WithSignedRequests) {
  use_s3();
  tfckpt::io::http_store store;  // reads the environment at construction
  expect_same_as_fixture(s3("mnist_ema/MNIST_model/"), "mnist_ema/MNIST_model", {.remote_store = &store});
  expect_same_as_fixture(s3("iris_keras_sharded_tf2/model.ckpt"), "iris_keras_sharded_tf2/model.ckpt",
                         {.remote_store = &store});
}

TEST_F(Remote, S3WithASessionToken) {
  // Temporary credentials carry a token, sent as x-amz-security-token; the server refuses x-amz-
  // headers left out of the signature, so this passes only if the token is signed too.
  use_s3();
  setenv("AWS_SESSION_TOKEN", "session-token-of-this-test", 1);
  tfckpt::io::http_store store;
  expect_same_as_fixture(s3("mnist_fc2_adam/fc2.ckpt"), "mnist_fc2_adam/fc2.ckpt", {.remote_store = &store});
  unsetenv("AWS_SESSION_TOKEN");
}

TEST_F(Remote, S3WithAWrongSecretIsDenied) {
  use_s3("not-the-secret");
  tfckpt::io::http_store store;
  auto remote = tfckpt::open(s3("mnist_ema/MNIST_model/mnist_model-30000"), {.remote_store = &store});
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.status().code(), absl::StatusCode::kPermissionDenied) << remote.status();
  EXPECT_NE(remote.status().message().find("s3://"), std::string_view::npos) << remote.status();
}

TEST_F(Remote, GsThroughTheS3CompatibleApi) {
  setenv("GS_ENDPOINT_URL", env_.at("TFCKPT_TEST_S3_ENDPOINT").c_str(), 1);
  setenv("GS_ACCESS_KEY_ID", env_.at("TFCKPT_TEST_S3_KEY_ID").c_str(), 1);
  setenv("GS_SECRET_ACCESS_KEY", env_.at("TFCKPT_TEST_S3_SECRET").c_str(), 1);
  setenv("GS_REGION", env_.at("TFCKPT_TEST_S3_REGION").c_str(), 1);  // the test server checks the scope's region
  tfckpt::io::http_store store;
  expect_same_as_fixture("gs://" + env_.at("TFCKPT_TEST_S3_BUCKET") + "/mnist_fc2_adam/fc2.ckpt", "mnist_fc2_adam/fc2.ckpt",
                         {.remote_store = &store});
}

TEST_F(Remote, WithoutAStoreTheErrorSaysWhatToLink) {
  tfckpt::io::remote_store* installed = tfckpt::io::default_remote_store();
  tfckpt::io::install_remote_store(nullptr);
  auto remote = tfckpt::open(http("mnist_ema/MNIST_model/mnist_model-30000"));
  tfckpt::io::install_remote_store(installed);
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(remote.status().message().find("tfckpt::remote"), std::string_view::npos) << remote.status();
}

TEST_F(Remote, CliReadsUrlsAndWritesLocally) {
  const std::string rel = "mnist_ema/MNIST_model/mnist_model-30000";
  const auto remote_ls = tfckpt_testing::run_cli({"ls", http(rel)});
  const auto local_ls = tfckpt_testing::run_cli({"ls", (fixtures_dir() / rel).string()});
  ASSERT_EQ(remote_ls.exit_code, 0) << remote_ls;
  EXPECT_EQ(remote_ls.out, local_ls.out);

  const auto latest = tfckpt_testing::run_cli({"latest", http("mnist_ema/MNIST_model/")});
  ASSERT_EQ(latest.exit_code, 0) << latest;
  EXPECT_EQ(latest.out, http(rel) + "\n");

  tfckpt_testing::scratch_dir out;
  const auto cp = tfckpt_testing::run_cli({"cp", http("mnist_ema/MNIST_model/"), (out.path() / "copy").string()});
  ASSERT_EQ(cp.exit_code, 0) << cp;
  for (const char* suffix : {".index", ".data-00000-of-00001"})
    EXPECT_EQ(tfckpt_testing::file_bytes(out.path() / (std::string("copy") + suffix)),
              tfckpt_testing::file_bytes(fixtures_dir() / (rel + suffix)))
        << suffix;

  const auto upload = tfckpt_testing::run_cli({"cp", (fixtures_dir() / rel).string(), http("copy")});
  EXPECT_NE(upload.exit_code, 0) << upload;
  EXPECT_NE(upload.err.find("local files only"), std::string::npos) << upload;
}

}  // namespace
}  // namespace remote_test
