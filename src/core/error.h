// Errors as values. Library code returns Status / Expected<T>; only src/cli prints them.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace qmix {

enum class ErrorCode {
  kInvalidArgument,  // bad option, unknown type name, bad regex …
  kNotFound,         // missing file, tensor, key
  kCorrupt,          // malformed or truncated input file
  kUnsupported,      // valid input we do not handle (big-endian GGUF, unknown architecture)
  kIo,               // read/write/mmap/rename failures, full disk
  kOutOfRange,       // sizes that overflow or exceed limits
  kBadData,          // NaN/Inf weights and similar content problems
  kCancelled,        // interrupted by the user
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Prepends context ("file.gguf: ") so the message reads from outer to inner scope.
  Error with_context(std::string_view context) const& {
    return Error{code, fmt::format("{}: {}", context, message)};
  }
};

template <class... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Error{code, fmt::format(f, std::forward<Args>(args)...)};
}

// Minimal expected<T, Error> (std::expected is C++23).
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT(implicit)
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT(implicit)
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, Error> &&
                                              !std::is_same_v<std::decay_t<U>, T>>>
  Expected(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status = success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{};
  bool ok_ = true;
};

inline Status ok_status() { return Status(); }

namespace detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "qmix internal error: %s failed at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace detail

}  // namespace qmix

#define QMIX_CONCAT_INNER(a, b) a##b
#define QMIX_CONCAT(a, b) QMIX_CONCAT_INNER(a, b)

// Returns the error of a Status/Expected expression from the enclosing function.
#define QMIX_TRY(expr)                                                      \
  do {                                                                      \
    auto&& qmix_try_result_ = (expr);                                       \
    if (!qmix_try_result_.ok()) return std::move(qmix_try_result_).error(); \
  } while (0)

// QMIX_TRY_ASSIGN(auto x, expr) or QMIX_TRY_ASSIGN(x, expr): unwraps an Expected.
#define QMIX_TRY_ASSIGN(lhs, expr) QMIX_TRY_ASSIGN_IMPL(QMIX_CONCAT(qmix_tmp_, __LINE__), lhs, expr)
#define QMIX_TRY_ASSIGN_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

// Invariants that only a bug can break (never bad input): abort with file:line.
#define QMIX_CHECK(cond) \
  ((cond) ? (void)0 : ::qmix::detail::check_failed(#cond, __FILE__, __LINE__))
