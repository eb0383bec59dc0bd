// SPDX-License-Identifier: Apache-2.0
// File: tfckpt/io/remote_http.hpp
//
// The remote store on libcurl (CMake target `tfckpt::remote`): objects behind `https://` and
// `http://` URLs, `s3://bucket/key` (AWS Signature V4, signed by libcurl) and `gs://bucket/key`
// (Google Cloud Storage's S3-compatible XML API with HMAC keys, or anonymous for public objects),
// read with ranged GETs. libcurl itself (libcurl.so.4, version 7.85 or later) is loaded when the
// first URL is read, not at program start. Including this header installs one store for the whole
// program (see io/remote_store.hpp), configured from the environment:
//
//   s3://   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (all optional: anonymous
//           without them), AWS_REGION or AWS_DEFAULT_REGION (default us-east-1), AWS_ENDPOINT_URL_S3
//           or AWS_ENDPOINT_URL for an S3-compatible store (path-style addressing there;
//           virtual-hosted `https://BUCKET.s3.REGION.amazonaws.com` otherwise)
//   gs://   GS_ACCESS_KEY_ID, GS_SECRET_ACCESS_KEY (HMAC keys; anonymous without them),
//           GS_ENDPOINT_URL (default https://storage.googleapis.com), GS_REGION (default auto)
//   all     TFCKPT_REMOTE_IN_FLIGHT (requests in flight per read, default 8),
//           TFCKPT_REMOTE_ATTEMPTS (tries per request, default 5),
//           TFCKPT_REMOTE_STALL_SECONDS (a request receiving nothing this long is retried, default 30)
//
// Timeouts, connection failures, 5xx/429 answers, bodies that end early and answers for another
// range are retried with exponential backoff; 4xx answers are not. Bytes come back complete and in
// place, or as an error naming the URL and the offset.
#ifndef TFCKPT_IO_REMOTE_HTTP_HPP_
#define TFCKPT_IO_REMOTE_HTTP_HPP_

#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "tfckpt/detail/status_macros.hpp"
#include "tfckpt/io/remote_store.hpp"

namespace tfckpt::io {

/// How an http_store sends its requests.
struct http_store_options {
  unsigned in_flight = 8;                            // concurrent ranged requests per read
  std::size_t piece_bytes = std::size_t{8} << 20;    // a large read is split into requests of this size
  unsigned attempts = 5;                             // tries per request
  unsigned stall_seconds = 30;                       // no byte for this long: the request is retried
  unsigned connect_timeout_seconds = 15;
  std::chrono::milliseconds first_backoff{100};      // doubled after each failed try
  /// The options above, overridden by TFCKPT_REMOTE_IN_FLIGHT, _ATTEMPTS and _STALL_SECONDS.
  static http_store_options from_environment();
};

/// Where a URL's requests go and how they are signed.
struct http_target {
  std::string url;        // what errors name: as the user gave it
  std::string http_url;   // what is requested
  std::string sigv4;      // CURLOPT_AWS_SIGV4 provider string, or empty for unsigned requests
  std::string key_id, secret, session_token;
};

/// Maps `s3://`, `gs://` and `http(s)://` URLs to requests, reading credentials and endpoints from
/// the environment (see the file comment). kInvalidArgument for a malformed URL.
absl::StatusOr<http_target> resolve_http_target(std::string_view url);

/// The store on libcurl. Connections and DNS answers are shared by every request of the store.
class http_store final : public remote_store {
 public:
  explicit http_store(http_store_options options = http_store_options::from_environment());
  ~http_store() override;
  http_store(const http_store&) = delete;
  http_store& operator=(const http_store&) = delete;

  absl::StatusOr<std::unique_ptr<remote_object>> open(const std::string& url) override;
  absl::StatusOr<std::string> read_all(const std::string& url, std::uint64_t limit) override;
  remote_counters counters() const override {
    return {requests_.load(), bytes_.load(), retries_.load()};
  }

  /// Reads [offset, offset + out.size()) of `target`, split into pieces with several in flight.
  absl::Status read_range(const http_target& target, std::uint64_t offset, std::span<std::byte> out);
  const http_store_options& options() const { return options_; }

 private:
  struct request;
  CURL* take_handle();
  void give_back(CURL* h);
  void prepare(request& r);
  // Loads libcurl and sets up the shared connections on first use; its error, if it cannot.
  absl::Status start();
  absl::Status run(std::vector<request>& requests, unsigned in_flight);

  http_store_options options_;
  std::once_flag started_;
  absl::Status start_status_;
  CURLSH* share_ = nullptr;
  std::mutex share_mutex_[CURL_LOCK_DATA_LAST];
  std::mutex pool_mutex_;
  std::vector<CURL*> pool_;
  std::atomic<std::uint64_t> requests_{0}, bytes_{0}, retries_{0};
};

// --- implementation ---

namespace detail {

inline std::string env_or(const char* name, std::string_view fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

inline unsigned env_unsigned(const char* name, unsigned fallback) {
  const std::string v = env_or(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v.c_str(), &end, 10);
  return end != nullptr && *end == '\0' && n > 0 && n < 100000 ? static_cast<unsigned>(n) : fallback;
}

// Percent-encodes an object key for a URL path, keeping '/' and RFC 3986's unreserved characters
// (what S3's SigV4 canonical URI expects of a key).
inline std::string encode_key(std::string_view key) {
  std::string out;
  for (const char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += c;
    } else {
      out += absl::StrFormat("%%%02X", u);
    }
  }
  return out;
}

// libcurl's functions, looked up the first time a URL is read (dlopen): a program that includes
// this header but reads no URL does not load libcurl and the thirty-odd libraries it brings (TLS,
// Kerberos, LDAP, ...), which took about 12 ms of every start of the `tfckpt` tool.
struct curl_api {
  absl::Status loaded;  // why libcurl could not be used, or OK
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_share_init) share_init = nullptr;
  decltype(&::curl_share_setopt) share_setopt = nullptr;
  decltype(&::curl_share_cleanup) share_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_perform) multi_perform = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_multi_poll) multi_poll = nullptr;
};

inline curl_api load_curl_api() {
  curl_api api;
  void* lib = nullptr;
  std::string tried;
  // The soname of libcurl 7 and 8, then Debian's builds on other TLS libraries (same API).
  for (const char* name : {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl-nss.so.4"}) {
    lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
    const char* why = ::dlerror();
    if (tried.empty()) tried = why != nullptr ? why : name;
  }
  if (lib == nullptr) {
    api.loaded = absl::FailedPreconditionError(
        absl::StrFormat("reading URLs needs libcurl, which could not be loaded (%s); on Debian or Ubuntu: "
                        "apt-get install libcurl4",
                        tried));
    return api;
  }
  bool all = true;
  const auto find = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, symbol));
    if (fn == nullptr && all) {
      all = false;
      api.loaded = absl::FailedPreconditionError(
          absl::StrFormat("the libcurl found has no %s: version 7.85 or later is needed", symbol));
    }
  };
  find(api.global_init, "curl_global_init");
  find(api.easy_init, "curl_easy_init");
  find(api.easy_cleanup, "curl_easy_cleanup");
  find(api.easy_reset, "curl_easy_reset");
  find(api.easy_setopt, "curl_easy_setopt");
  find(api.easy_getinfo, "curl_easy_getinfo");
  find(api.easy_strerror, "curl_easy_strerror");
  find(api.share_init, "curl_share_init");
  find(api.share_setopt, "curl_share_setopt");
  find(api.share_cleanup, "curl_share_cleanup");
  find(api.slist_append, "curl_slist_append");
  find(api.slist_free_all, "curl_slist_free_all");
  find(api.multi_init, "curl_multi_init");
  find(api.multi_cleanup, "curl_multi_cleanup");
  find(api.multi_add_handle, "curl_multi_add_handle");
  find(api.multi_remove_handle, "curl_multi_remove_handle");
  find(api.multi_perform, "curl_multi_perform");
  find(api.multi_info_read, "curl_multi_info_read");
  find(api.multi_poll, "curl_multi_poll");
  if (all && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    api.loaded = absl::InternalError("libcurl failed to initialise (curl_global_init)");
  return api;  // the library stays loaded for the life of the program
}

// Loaded once, on first use; every call after a failed load sees the same error. Never destroyed:
// the program's store cleans up its handles with it at exit.
inline const curl_api& libcurl() {
  static const curl_api* const api = new curl_api(load_curl_api());
  return *api;
}

}  // namespace detail

inline http_store_options http_store_options::from_environment() {
  http_store_options o;
  o.in_flight = detail::env_unsigned("TFCKPT_REMOTE_IN_FLIGHT", o.in_flight);
  o.attempts = detail::env_unsigned("TFCKPT_REMOTE_ATTEMPTS", o.attempts);
  o.stall_seconds = detail::env_unsigned("TFCKPT_REMOTE_STALL_SECONDS", o.stall_seconds);
  return o;
}

inline absl::StatusOr<http_target> resolve_http_target(std::string_view url) {
  http_target t;
  t.url = std::string(url);
  if (url.starts_with("http://") || url.starts_with("https://")) {
    t.http_url = t.url;
    return t;
  }
  const bool s3 = url.starts_with("s3://");
  if (!s3 && !url.starts_with("gs://"))
    return absl::InvalidArgumentError(absl::StrFormat("%s: not an http://, https://, s3:// or gs:// URL", url));
  const std::string_view rest = url.substr(5);
  const std::size_t slash = rest.find('/');
  const std::string_view bucket = rest.substr(0, slash);
  const std::string_view key = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.empty() || key.empty())
    return absl::InvalidArgumentError(absl::StrFormat("%s: expected %s://BUCKET/KEY", url, s3 ? "s3" : "gs"));
  std::string endpoint, region;
  if (s3) {
    region = detail::env_or("AWS_REGION", detail::env_or("AWS_DEFAULT_REGION", "us-east-1"));
    endpoint = detail::env_or("AWS_ENDPOINT_URL_S3", detail::env_or("AWS_ENDPOINT_URL"));
    t.key_id = detail::env_or("AWS_ACCESS_KEY_ID");
    t.secret = detail::env_or("AWS_SECRET_ACCESS_KEY");
    t.session_token = detail::env_or("AWS_SESSION_TOKEN");
  } else {
    region = detail::env_or("GS_REGION", "auto");  // Cloud Storage's XML API takes "auto" in a SigV4 scope
    endpoint = detail::env_or("GS_ENDPOINT_URL", "https://storage.googleapis.com");
    t.key_id = detail::env_or("GS_ACCESS_KEY_ID");
    t.secret = detail::env_or("GS_SECRET_ACCESS_KEY");
  }
  while (endpoint.ends_with('/')) endpoint.pop_back();
  if (!endpoint.empty()) {  // path-style: an S3-compatible store, or Cloud Storage
    t.http_url = absl::StrFormat("%s/%s/%s", endpoint, detail::encode_key(bucket), detail::encode_key(key));
  } else {
    t.http_url = absl::StrFormat("https://%s.s3.%s.amazonaws.com/%s", bucket, region, detail::encode_key(key));
  }
  if (!t.key_id.empty() && !t.secret.empty()) t.sigv4 = absl::StrFormat("aws:amz:%s:s3", region);
  return t;
}

// One request: a ranged GET into `out` (or, for read_all, a GET of the whole object into `whole`;
// for open, a HEAD).
struct http_store::request {
  enum class kind { range, whole, head } what = kind::range;
  const http_target* target = nullptr;
  std::uint64_t offset = 0;
  std::span<std::byte> out;
  std::string* whole = nullptr;
  std::uint64_t limit = 0;  // whole: most bytes accepted

  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
  unsigned attempt = 0;
  std::chrono::steady_clock::time_point not_before{};
  // Per try:
  long status = 0;
  std::size_t received = 0;       // bytes placed
  std::uint64_t skipped = 0;      // bytes before `offset` of an answer that ignored Range
  std::string content_range;
  std::string error_body;         // the start of an error answer's body
  std::uint64_t content_length = 0;
  bool have_length = false;
  bool over_limit = false;
  char curl_error[CURL_ERROR_SIZE] = {};

  void reset_try() {
    status = 0;
    received = 0;
    skipped = 0;
    content_range.clear();
    error_body.clear();
    have_length = false;
    over_limit = false;
    curl_error[0] = '\0';
    if (whole != nullptr) whole->clear();
  }
  std::string where() const {
    return what == kind::range ? absl::StrFormat("%s @%d", target->url, offset) : target->url;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* r = static_cast<request*>(self);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {  // a new answer (after a redirect or a 100): forget the last
      r->content_range.clear();
      r->have_length = false;
    }
    const auto value_of = [&](std::string_view name) -> std::string_view {
      if (line.size() <= name.size() || line[name.size()] != ':') return {};
      for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return {};
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      return v;
    };
    if (const auto v = value_of("content-range"); !v.empty()) r->content_range = std::string(v);
    if (const auto v = value_of("content-length"); !v.empty()) {
      std::uint64_t len = 0;
      bool ok = true;
      for (const char c : v) {
        if (c < '0' || c > '9' || len > UINT64_MAX / 10) {
          ok = false;
          break;
        }
        len = len * 10 + static_cast<std::uint64_t>(c - '0');
      }
      r->have_length = ok;
      r->content_length = len;
    }
    return size * n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* r = static_cast<request*>(self);
    const std::size_t len = size * n;
    if (r->status == 0) detail::libcurl().easy_getinfo(r->handle, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status != 200 && r->status != 206) {  // an error answer: keep its start for the message
      if (r->error_body.size() < 512) r->error_body.append(data, std::min(len, 512 - r->error_body.size()));
      return len;
    }
    if (r->what == kind::whole) {
      if (r->whole->size() + len > r->limit) {
        r->over_limit = true;
        return 0;  // ends the transfer
      }
      r->whole->append(data, len);
      r->received += len;
      return len;
    }
    std::string_view chunk(data, len);
    if (r->status == 200 && r->skipped < r->offset) {  // the server ignored Range: skip to the offset
      const auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), r->offset - r->skipped));
      r->skipped += skip;
      chunk.remove_prefix(skip);
    }
    const std::size_t room = r->out.size() - r->received;
    const std::size_t take = std::min(room, chunk.size());
    if (take > 0) std::memcpy(r->out.data() + r->received, chunk.data(), take);
    r->received += take;
    // More than asked for: from a 200 the rest of the object, which is not needed (stop here); from
    // a 206 a body longer than its range, which is wrong. Either way the transfer ends.
    return take < chunk.size() ? 0 : len;
  }
};

inline http_store::http_store(http_store_options options) : options_(options) {}

inline absl::Status http_store::start() {
  std::call_once(started_, [this] {
    const detail::curl_api& curl = detail::libcurl();
    start_status_ = curl.loaded;
    if (!start_status_.ok()) return;
    share_ = curl.share_init();
    if (share_ == nullptr) return;  // requests then open their own connections
    curl.share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl.share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl.share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl.share_setopt(share_, CURLSHOPT_LOCKFUNC, +[](CURL*, curl_lock_data d, curl_lock_access, void* self) {
      static_cast<http_store*>(self)->share_mutex_[d].lock();
    });
    curl.share_setopt(share_, CURLSHOPT_UNLOCKFUNC, +[](CURL*, curl_lock_data d, void* self) {
      static_cast<http_store*>(self)->share_mutex_[d].unlock();
    });
  });
  return start_status_;
}

inline http_store::~http_store() {
  if (pool_.empty() && share_ == nullptr) return;  // libcurl was never used
  for (CURL* h : pool_) detail::libcurl().easy_cleanup(h);
  if (share_ != nullptr) detail::libcurl().share_cleanup(share_);
}

inline CURL* http_store::take_handle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      CURL* h = pool_.back();
      pool_.pop_back();
      detail::libcurl().easy_reset(h);
      return h;
    }
  }
  return detail::libcurl().easy_init();
}

inline void http_store::give_back(CURL* h) {
  std::lock_guard lock(pool_mutex_);
  pool_.push_back(h);
}

inline void http_store::prepare(request& r) {
  const detail::curl_api& curl = detail::libcurl();
  CURL* h = r.handle;
  r.reset_try();
  curl.easy_setopt(h, CURLOPT_URL, r.target->http_url.c_str());
  curl.easy_setopt(h, CURLOPT_SHARE, share_);
  curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout_seconds));
  curl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_seconds));
  curl.easy_setopt(h, CURLOPT_ERRORBUFFER, r.curl_error);
  curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, &request::on_header);
  curl.easy_setopt(h, CURLOPT_HEADERDATA, &r);
  curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, &request::on_body);
  curl.easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl.easy_setopt(h, CURLOPT_USERAGENT, "tfckpt");
  // Bytes arrive in pieces of this size: the default 16 KiB made a callback and a receive call per
  // 16 KiB of a tensor.
  curl.easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (r.what == request::kind::head) curl.easy_setopt(h, CURLOPT_NOBODY, 1L);
  std::string range;
  if (r.what == request::kind::range) {
    range = absl::StrFormat("%d-%d", r.offset, r.offset + r.out.size() - 1);
    curl.easy_setopt(h, CURLOPT_RANGE, range.c_str());  // copied by libcurl
  }
  if (r.headers != nullptr) {
    curl.slist_free_all(r.headers);
    r.headers = nullptr;
  }
  const http_target& t = *r.target;
  if (!t.sigv4.empty()) {
    curl.easy_setopt(h, CURLOPT_AWS_SIGV4, t.sigv4.c_str());
    curl.easy_setopt(h, CURLOPT_USERNAME, t.key_id.c_str());
    curl.easy_setopt(h, CURLOPT_PASSWORD, t.secret.c_str());
    // S3 wants the payload hash in every signed request; a GET or HEAD has none to sign.
    r.headers = curl.slist_append(r.headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!t.session_token.empty())
      r.headers = curl.slist_append(r.headers, ("x-amz-security-token: " + t.session_token).c_str());
  }
  if (r.headers != nullptr) curl.easy_setopt(h, CURLOPT_HTTPHEADER, r.headers);
}

namespace detail {

// "bytes FIRST-LAST/TOTAL" of a Content-Range header, or false.
inline bool parse_content_range(std::string_view v, std::uint64_t* first, std::uint64_t* last) {
  if (!v.starts_with("bytes ")) return false;
  v.remove_prefix(6);
  const auto number = [&v](std::uint64_t* out, char stop) {
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
      if (n > UINT64_MAX / 10) return false;
      n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
    }
    if (i == 0 || i >= v.size() || v[i] != stop) return false;
    v.remove_prefix(i + 1);
    *out = n;
    return true;
  };
  return number(first, '-') && number(last, '/');
}

}  // namespace detail

// Runs every request to completion, at most `in_flight` at a time, retrying what may succeed on
// another try. Returns the first error that no retry cured.
inline absl::Status http_store::run(std::vector<request>& requests, unsigned in_flight) {
  TFCKPT_RETURN_IF_ERROR(start());
  const detail::curl_api& curl = detail::libcurl();
  CURLM* multi = curl.multi_init();
  if (multi == nullptr) return absl::ResourceExhaustedError("libcurl: cannot create a transfer set");
  std::deque<request*> waiting;
  for (request& r : requests) waiting.push_back(&r);
  std::size_t active = 0;
  absl::Status failure = absl::OkStatus();

  // A failed try: queued again after a backoff, or the error that ends the read.
  const auto retry_or_fail = [&](request& r, bool retryable, std::string why, absl::StatusCode code) {
    if (retryable && r.attempt + 1 < options_.attempts) {
      ++retries_;
      const auto delay = options_.first_backoff * (1u << std::min(r.attempt, 10u));
      ++r.attempt;
      r.not_before = std::chrono::steady_clock::now() + delay;
      waiting.push_back(&r);
      return;
    }
    if (failure.ok())
      failure = absl::Status(code, absl::StrFormat("%s: %s%s", r.where(), why,
                                                   retryable ? absl::StrFormat(" (gave up after %d tries)", r.attempt + 1)
                                                             : std::string()));
  };

  const auto finish = [&](request& r, CURLcode result) {
    if (r.status == 0) curl.easy_getinfo(r.handle, CURLINFO_RESPONSE_CODE, &r.status);
    bytes_ += r.received;
    const bool whole_object_ignored_range =
        r.what == request::kind::range && r.status == 200 && r.received == r.out.size();
    if (r.over_limit) {
      retry_or_fail(r, false, absl::StrFormat("the object is larger than %d bytes", r.limit),
                    absl::StatusCode::kFailedPrecondition);
      return;
    }
    if (result != CURLE_OK && !(result == CURLE_WRITE_ERROR && whole_object_ignored_range)) {
      const std::string detail = r.curl_error[0] != '\0' ? r.curl_error : curl.easy_strerror(result);
      const bool retryable = result != CURLE_UNSUPPORTED_PROTOCOL && result != CURLE_URL_MALFORMAT &&
                             result != CURLE_WRITE_ERROR;
      retry_or_fail(r, retryable,
                    result == CURLE_WRITE_ERROR ? "the server sent more bytes than the range asked for"
                                                : absl::StrFormat("request failed: %s", detail),
                    absl::StatusCode::kUnavailable);
      return;
    }
    const long s = r.status;
    if (s == 404 || s == 410) {
      retry_or_fail(r, false, "no such object (HTTP 404)", absl::StatusCode::kNotFound);
      return;
    }
    if (s == 401 || s == 403) {
      retry_or_fail(r, false,
                    absl::StrFormat("access denied (HTTP %d)%s%s", s, r.error_body.empty() ? "" : ": ",
                                    r.error_body.substr(0, 300)),
                    absl::StatusCode::kPermissionDenied);
      return;
    }
    if (s >= 500 || s == 429 || s == 408) {
      retry_or_fail(r, true, absl::StrFormat("the server answered HTTP %d", s), absl::StatusCode::kUnavailable);
      return;
    }
    if (r.what == request::kind::head || r.what == request::kind::whole) {
      if (s != 200) {
        retry_or_fail(r, false, absl::StrFormat("unexpected answer HTTP %d", s), absl::StatusCode::kUnavailable);
        return;
      }
      if (r.what == request::kind::head && !r.have_length) {
        retry_or_fail(r, true, "the answer gives no Content-Length", absl::StatusCode::kUnavailable);
        return;
      }
      if (r.what == request::kind::whole && r.have_length && r.received != r.content_length) {
        retry_or_fail(r, true, absl::StrFormat("the body ended after %d of %d bytes", r.received, r.content_length),
                      absl::StatusCode::kUnavailable);
        return;
      }
      return;
    }
    if (s != 206 && s != 200) {
      retry_or_fail(r, false, absl::StrFormat("unexpected answer HTTP %d to a ranged request", s),
                    absl::StatusCode::kUnavailable);
      return;
    }
    if (s == 206) {
      std::uint64_t first = 0, last = 0;
      if (!detail::parse_content_range(r.content_range, &first, &last) || first != r.offset ||
          last + 1 != r.offset + r.out.size()) {
        retry_or_fail(r, true,
                      absl::StrFormat("the answer is for another range (Content-Range '%s', asked for bytes %d-%d)",
                                      r.content_range, r.offset, r.offset + r.out.size() - 1),
                      absl::StatusCode::kDataLoss);
        return;
      }
    }
    if (r.received != r.out.size())
      retry_or_fail(r, true, absl::StrFormat("the body ended after %d of %d bytes", r.received, r.out.size()),
                    absl::StatusCode::kUnavailable);
  };

  const auto start_ready = [&] {
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t n = waiting.size(); n > 0 && active < in_flight && failure.ok(); --n) {
      request* r = waiting.front();
      waiting.pop_front();
      if (r->not_before > now) {
        waiting.push_back(r);
        continue;
      }
      if (r->handle == nullptr) r->handle = take_handle();
      if (r->handle == nullptr) {
        failure = absl::ResourceExhaustedError("libcurl: cannot create a request");
        break;
      }
      prepare(*r);
      curl.easy_setopt(r->handle, CURLOPT_PRIVATE, r);
      ++requests_;
      curl.multi_add_handle(multi, r->handle);
      ++active;
    }
  };

  start_ready();
  while ((active > 0 || !waiting.empty()) && failure.ok()) {
    int running = 0;
    curl.multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* m = curl.multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      request* r = nullptr;
      curl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&r));
      const CURLcode result = m->data.result;
      curl.multi_remove_handle(multi, m->easy_handle);
      --active;
      finish(*r, result);
    }
    start_ready();
    if (active > 0) {
      curl.multi_poll(multi, nullptr, 0, 100, nullptr);
    } else if (!waiting.empty() && failure.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // only backoffs pending
    }
  }
  for (request& r : requests) {
    if (r.handle != nullptr) {
      curl.multi_remove_handle(multi, r.handle);  // harmless when not added
      give_back(r.handle);
      r.handle = nullptr;
    }
    if (r.headers != nullptr) curl.slist_free_all(r.headers);
    r.headers = nullptr;
  }
  curl.multi_cleanup(multi);
  return failure;
}

inline absl::Status http_store::read_range(const http_target& target, std::uint64_t offset, std::span<std::byte> out) {
  if (out.empty()) return absl::OkStatus();
  const std::size_t piece = std::max<std::size_t>(options_.piece_bytes, 1);
  std::vector<request> requests((out.size() + piece - 1) / piece);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    request& r = requests[i];
    r.target = &target;
    r.offset = offset + i * piece;
    r.out = out.subspan(i * piece, std::min(piece, out.size() - i * piece));
  }
  return run(requests, std::max(options_.in_flight, 1u));
}

namespace detail {

class http_object final : public remote_object {
 public:
  http_object(http_store* store, http_target target, std::uint64_t size)
      : store_(store), target_(std::move(target)), size_(size) {}
  std::uint64_t size() const override { return size_; }
  const std::string& url() const override { return target_.url; }
  absl::Status read(std::uint64_t offset, std::span<std::byte> out) const override {
    if (offset > size_ || out.size() > size_ - offset)
      return absl::OutOfRangeError(absl::StrFormat("%s @%d: a read of %d bytes runs past the object's %d", target_.url,
                                                   offset, out.size(), size_));
    return store_->read_range(target_, offset, out);
  }

 private:
  http_store* store_;
  http_target target_;
  std::uint64_t size_;
};

}  // namespace detail

inline absl::StatusOr<std::unique_ptr<remote_object>> http_store::open(const std::string& url) {
  TFCKPT_ASSIGN_OR_RETURN(http_target target, resolve_http_target(url));
  std::vector<request> head(1);
  head[0].what = request::kind::head;
  head[0].target = &target;
  TFCKPT_RETURN_IF_ERROR(run(head, 1));
  return std::unique_ptr<remote_object>(new detail::http_object(this, std::move(target), head[0].content_length));
}

inline absl::StatusOr<std::string> http_store::read_all(const std::string& url, std::uint64_t limit) {
  TFCKPT_ASSIGN_OR_RETURN(const http_target target, resolve_http_target(url));
  std::string body;
  std::vector<request> get(1);
  get[0].what = request::kind::whole;
  get[0].target = &target;
  get[0].whole = &body;
  get[0].limit = limit;
  TFCKPT_RETURN_IF_ERROR(run(get, 1));
  return body;
}

namespace detail {
// The program's store, installed before main() by every translation unit that includes this header
// (an inline variable: one object, initialised once).
inline const bool http_store_installed = [] {
  static http_store store;
  install_remote_store(&store);
  return true;
}();
}  // namespace detail

}  // namespace tfckpt::io

#endif  // TFCKPT_IO_REMOTE_HTTP_HPP_
