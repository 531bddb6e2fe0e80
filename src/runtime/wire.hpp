#pragma once
// Flat byte records for the hot messages (protocol.hpp): trivially copyable headers and arrays
// appended with memcpy, read back the same way, bounds checked. Byte order and layout are the
// machine's own: every rank of one job runs the same binary on the same architecture.
#include <mpisweep/core/error.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace mpisweep::runtime::wire {

class Writer {
 public:
  explicit Writer(std::size_t reserve = 0) { out_.reserve(reserve); }
  // Writes after what `buffer` holds, into its capacity (a reused message buffer).
  Writer(std::string buffer, std::size_t reserve) : out_(std::move(buffer)) {
    out_.reserve(out_.size() + reserve);
  }
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    put_bytes(&value, sizeof value);
  }
  template <class T>
  void put_array(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put_bytes(values.data(), values.size_bytes());
  }
  void put_bytes(const void* data, std::size_t n) {
    if (n) out_.append(static_cast<const char*>(data), n);
  }
  std::string take() { return std::move(out_); }
  // The bytes so far, for encoders that append straight into the message (chunk_codec).
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof value), sizeof value);
    return value;
  }
  // `n` elements into `out` (resized), which keeps its capacity from message to message.
  template <class Vector>
  void get_array(Vector& out, std::size_t n) {
    using T = typename Vector::value_type;
    static_assert(std::is_trivially_copyable_v<T>);
    if (n > remaining() / sizeof(T)) overrun();
    out.resize(n);
    if (n) std::memcpy(out.data(), take(n * sizeof(T)), n * sizeof(T));
  }
  std::string_view get_bytes(std::size_t n) { return {take(n), n}; }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  const char* take(std::size_t n) {
    if (n > remaining()) overrun();
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] static void overrun() {
    throw internal_error("protocol: a message ends before its records do");
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace mpisweep::runtime::wire
